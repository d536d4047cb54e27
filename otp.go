package huduma

// OTPScope is whose a one-time code is: the agency whose API key asked for
// it ("" for an operator's key, which is a scope of its own), the phone it
// went to, and its purpose. A code, and the tries against it, belong to
// its whole scope: a request in another agency's name never verifies,
// spends, retires or locks it.
type OTPScope struct {
	Agency  string
	Phone   MSISDN
	Purpose string
}

// OTPRemoved is what an OTP message's text becomes in the outbox once it
// has left (sent, or failed for good): the code is not kept anywhere
// readable after it has done its work.
const OTPRemoved = "[one-time code: text removed once sent]"
