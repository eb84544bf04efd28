-- Argo CD health check for every kind of petition.xinfang.io/v1alpha1
-- (Office, RoutingPolicy, EscalationPolicy, HolidayCalendar, DutyPeriod,
-- TenantDefaults), installed once in argocd-cm's resource.customizations
-- under the wildcard petition.xinfang.io/* (docs/gitops.md).
--
-- The operator reports status the way kstatus reads it (docs/gitops.md):
-- status.observedGeneration, Ready always, Reconciling or Stalled while true.
--
--   Progressing  the operator has not observed the current generation yet
--   Degraded     Stalled=True: only a change to a spec fixes it
--   Progressing  Reconciling=True: waiting for a parent, policy or calendar
--   Healthy      Ready=True for the current generation
--   Suspended    on purpose: an office's spec.suspend (Suspended) or a paused
--                staged rollout (RolloutPaused), with the Ready message
--   Progressing  anything else, with the Ready message
--
-- Only Lua's base library is used: Argo CD runs custom health checks
-- without the string, math and io libraries.
local hs = {}
local generation = obj.metadata.generation
local observed = nil
local conditions = {}
if obj.status ~= nil then
  observed = obj.status.observedGeneration
  if obj.status.conditions ~= nil then
    conditions = obj.status.conditions
  end
end

if observed == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end
if generation ~= nil and observed ~= generation then
  hs.status = "Progressing"
  hs.message = obj.kind .. " generation is " .. tostring(generation) ..
    ", but latest observed generation is " .. tostring(observed)
  return hs
end

local ready, reconciling, stalled = nil, nil, nil
for _, c in ipairs(conditions) do
  if c.type == "Ready" then
    ready = c
  elseif c.type == "Reconciling" then
    reconciling = c
  elseif c.type == "Stalled" then
    stalled = c
  end
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = reconciling.message
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end
if ready ~= nil and (ready.reason == "Suspended" or ready.reason == "RolloutPaused") then
  hs.status = "Suspended"
  hs.message = ready.message
  return hs
end
hs.status = "Progressing"
if ready ~= nil then
  hs.message = ready.message
else
  hs.message = "Waiting for the Ready condition"
end
return hs
