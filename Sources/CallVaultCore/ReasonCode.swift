// The stable rejection reason codes of SPEC §3, in the order ingest checks them.

/// Why an input was not stored. The raw values are a public contract (reason.json, `--json`, reports):
/// never rename one.
public enum ReasonCode: String, CaseIterable, Sendable, Codable {
    case sidecarMissing = "sidecar_missing"
    case audioMissing = "audio_missing"
    case tooLarge = "too_large"
    case sidecarInvalid = "sidecar_invalid"
    case unsafeName = "unsafe_name"
    case tenantUnknown = "tenant_unknown"
    case timestampInvalid = "timestamp_invalid"
    case announcementMissing = "announcement_missing"
    case audioUnreadable = "audio_unreadable"
    case audioEmpty = "audio_empty"
    case audioTruncated = "audio_truncated"
    case durationMismatch = "duration_mismatch"
    case announcementNotDetected = "announcement_not_detected"
    case duplicateConflict = "duplicate_conflict"
}

/// A rejection: a reason code and a one-line detail that names the field or the libsndfile error,
/// never a value taken from the input (values may be phone numbers).
public struct Rejection: Error, Sendable, Equatable {
    public let reason: ReasonCode
    public let detail: String

    public init(_ reason: ReasonCode, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }
}
