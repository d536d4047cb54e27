package huduma

import "time"

// ApplicationStatus is where an application is in its life.
type ApplicationStatus string

// Application states, in their usual order.
const (
	AppSubmitted ApplicationStatus = "submitted"
	AppInReview  ApplicationStatus = "in_review"
	AppApproved  ApplicationStatus = "approved"
	AppRejected  ApplicationStatus = "rejected"
	AppReady     ApplicationStatus = "ready_for_collection"
	AppCollected ApplicationStatus = "collected"
)

// ParseApplicationStatus accepts the known states only.
func ParseApplicationStatus(s string) (ApplicationStatus, error) {
	switch st := ApplicationStatus(s); st {
	case AppSubmitted, AppInReview, AppApproved, AppRejected, AppReady, AppCollected:
		return st, nil
	}
	return "", Errorf(EInvalid, "unknown application status %q", s)
}

// applicationWords name application states for people, in English and
// Kiswahili.
var applicationWords = map[ApplicationStatus][2]string{
	AppSubmitted: {"SUBMITTED", "IMEWASILISHWA"}, AppInReview: {"IN REVIEW", "INAKAGULIWA"},
	AppApproved: {"APPROVED", "IMEIDHINISHWA"}, AppRejected: {"REJECTED", "IMEKATALIWA"},
	AppReady: {"READY FOR COLLECTION", "TAYARI KUCHUKULIWA"}, AppCollected: {"COLLECTED", "IMECHUKULIWA"},
}

// Word names the state in lang, as USSD screens and SMS show it.
func (s ApplicationStatus) Word(lang Language) string {
	w := applicationWords[s]
	if lang == Kiswahili {
		return w[1]
	}
	return w[0]
}

// Application is a request for a service being processed by an agency.
type Application struct {
	Number      string            `json:"number"`
	ServiceCode int               `json:"service_code"`
	ServiceName string            `json:"service_name"`
	Phone       MSISDN            `json:"phone"`
	Reference   string            `json:"reference,omitempty"`
	Invoice     string            `json:"invoice,omitempty"`
	Status      ApplicationStatus `json:"status"`
	Note        string            `json:"note,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	History     []AppEvent        `json:"history,omitempty"`
}

// AppEvent is one status change of an application.
type AppEvent struct {
	Status ApplicationStatus `json:"status"`
	Note   string            `json:"note,omitempty"`
	At     time.Time         `json:"at"`
}
