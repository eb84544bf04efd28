// Package cases is the pure domain of the case registry: the states of a
// case and the actions that move it between them, the intake of a petition
// (a strictly decoded, bounded JSON body), case numbers and query codes. It
// does no I/O and imports no Kubernetes client and no database: the
// registry stores what Decide and DecodeIntake answer.
//
// The state machine of the 信访工作条例 (2022); review stages follow an
// Appeal only, and every open state may also be withdrawn (Withdrawn) or
// merged into an earlier case (Merged):
//
//	Registered ──forward / assign──▶ Transferred ──return──▶ Registered
//	 │  (Transfer or Acceptance,      │  (Acceptance at       (Transfer at the
//	 │   Arts. 21–23)                 │   the target)          office it came from)
//	 │                                │ forward / assign (again)
//	 ├──notAccept──▶ NotAccepted ◀────┤ notAccept
//	 │                                │
//	 └──accept──▶ Accepted ◀──accept──┘
//	              │ (Handling, 60 days, Art. 34; extend once by at most the
//	              │  chain's extension, ≤ 30 days)
//	              │ reply: Support | Explain | NotSupport
//	              ▼
//	           Replied ──close──▶ Closed
//	              │ requestReview (Appeal)
//	              ▼
//	     ReviewRequested (Review, 30 days, Art. 35)
//	              │ decideReview: Upheld | Revised
//	              ▼
//	           Reviewed ──close──▶ Closed
//	              │ requestReReview (Appeal)
//	              ▼
//	    ReReviewRequested (ReReview, 30 days, Art. 36)
//	              │ decideReReview: Upheld | Revised
//	              ▼
//	          ReReviewed (终结)
//
// NotAccepted, ReReviewed, Closed, Withdrawn and Merged are terminal: they
// allow no action.
package cases
