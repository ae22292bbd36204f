// What the audit log records (SPEC §10): every action by one name, the text the chain stores and hashes.

/// An audited action. The raw value is what `audit_events.action` holds: existing stores' chains hash these
/// words, so a case is renamed only with its raw value kept.
public enum AuditAction: String, Sendable, CaseIterable {
    case accessDenied = "access.denied"

    case announcementReviewListed = "announcement.review_listed"
    case announcementReviewed = "announcement.reviewed"

    case auditHead = "audit.head"
    case auditList = "audit.list"
    case auditVerify = "audit.verify"

    case authFailed = "auth.failed"
    case authLocked = "auth.locked"
    case authLogin = "auth.login"

    case catalogMigrated = "catalog.migrated"

    case evidenceExported = "evidence.exported"

    case fixityChecked = "fixity.checked"

    case holdList = "hold.list"
    case holdPlaced = "hold.placed"
    case holdReleased = "hold.released"
    case holdShow = "hold.show"

    case ingestClaimsTakenOver = "ingest.claims_taken_over"
    case ingestDuplicate = "ingest.duplicate"
    case ingestErasedRefused = "ingest.erased_refused"
    case ingestIncomplete = "ingest.incomplete"
    case ingestLeftInPlace = "ingest.left_in_place"
    case ingestRejected = "ingest.rejected"
    case ingestStored = "ingest.stored"

    case noteAdded = "note.added"
    case noteDeleted = "note.deleted"

    case policyChanged = "policy.changed"
    case policyRecorded = "policy.recorded"

    case quarantineList = "quarantine.list"
    case quarantineRetried = "quarantine.retried"
    case quarantineShow = "quarantine.show"

    case export
    case list
    case report
    case show

    case recordingExportRefused = "recording.export_refused"
    case recordingHoldRedacted = "recording.hold_redacted"
    case recordingPlayed = "recording.played"

    case requestClosed = "request.closed"
    case requestErase = "request.erase"
    case requestErasePlanned = "request.erase_planned"
    case requestErased = "request.erased"
    case requestExported = "request.exported"
    case requestExtended = "request.extended"
    case requestFind = "request.find"
    case requestList = "request.list"
    case requestOpened = "request.opened"
    case requestQuarantineErased = "request.quarantine_erased"
    case requestRectified = "request.rectified"
    case requestRefreshed = "request.refreshed"
    case requestRestricted = "request.restricted"
    case requestRestrictionLifted = "request.restriction_lifted"
    case requestShow = "request.show"

    case retentionReapplied = "retention.reapplied"

    case storeInit = "store.init"

    case sweepAudioDeleted = "sweep.audio_deleted"
    case sweepFinished = "sweep.finished"
    case sweepMetadataDeleted = "sweep.metadata_deleted"
    case sweepQuarantineDeleted = "sweep.quarantine_deleted"

    case userDisabled = "user.disabled"
    case userPasswordSet = "user.password_set"
}
