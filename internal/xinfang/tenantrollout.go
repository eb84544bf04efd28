package xinfang

import (
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
)

// DefaultImage is the default tenant image the TenantDefaults names, or
// fallback (the operator's --tenant-image) when it names none or is nil.
func DefaultImage(td *v1alpha1.TenantDefaults, fallback string) string {
	if td != nil && td.Spec.Image != "" {
		return td.Spec.Image
	}
	return fallback
}

// ImageRevision is the revision of a default tenant image, as rollouts
// name revisions.
func ImageRevision(image string) string {
	hash, err := Hash(image)
	if err != nil {
		panic(err) // a string always marshals
	}
	return hash
}

// EntitledImage returns the image the office's tenant runs: its own
// spec.tenant.image, else the default image when its rollout has reached
// the office, else the stable one every office ran last. td may be nil (not
// created yet): the default image then.
func EntitledImage(td *v1alpha1.TenantDefaults, fallback string, office *v1alpha1.Office, path []string) string {
	if office.Spec.Tenant.Image != "" {
		return office.Spec.Tenant.Image
	}
	image := DefaultImage(td, fallback)
	if td == nil || td.Status.StableImage == "" || td.Status.StableImage == image ||
		!staged(td.TenantRollout()) {
		return image
	}
	if reached(td.TenantRollout(), td.Status.Rollout, td.Status.Stage, ImageRevision(image), office, path) {
		return image
	}
	return td.Status.StableImage
}

// tenantSubject is the rollout of the default image to the offices that
// name no image of their own.
func tenantSubject(td *v1alpha1.TenantDefaults, image string) *rolloutSubject {
	s := &rolloutSubject{rollout: td.TenantRollout(), hold: HoldOf(td.Spec.Rollout, td.Annotations), generation: td.Generation, revision: ImageRevision(image),
		concerns: func(o *v1alpha1.Office, _ []string) bool { return o.Spec.Tenant.Image == "" },
		runs: func(o *v1alpha1.Office, _ []string) bool {
			return officeCurrent(o) && o.Status.Tenant != nil && o.Status.Tenant.Image == image && o.Status.Tenant.RolledOut
		},
	}
	if td.Status.StableImage != "" {
		s.stable = ImageRevision(td.Status.StableImage)
	} else {
		// Nothing was rolled out before: the first image is the stable one.
		s.stable = s.revision
	}
	return s
}

// StepTenantRollout moves the rollout of the default image on, as
// StepRollout does for a policy. Completed says that image is now the
// stable one.
func StepTenantRollout(td *v1alpha1.TenantDefaults, image string, idx *Network, now time.Time) RolloutStep {
	return stepRollout(tenantSubject(td, image), td.Status.Rollout, td.Status.Stage, idx, now)
}

// TenantRolloutPlan reports each stage of the default image's rollout.
func TenantRolloutPlan(td *v1alpha1.TenantDefaults, image string, idx *Network) []StageReport {
	return rolloutPlan(tenantSubject(td, image), idx)
}
