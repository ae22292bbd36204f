// GET /calls/{id}/audio and /download: the recording as bytes a browser plays, with HTTP ranges, streamed in
// 64 KiB pieces (memory stays flat for a 2-hour call). Rights and audit are decided by `Playback`.
import CallVault
import CallVaultCore
import Foundation
import HTTPTypes
import Hummingbird

enum AudioResponse {
    /// A byte range of a body of `length` bytes: `bytes=A-B`, `bytes=A-`, `bytes=-N` (the last N bytes).
    enum RangeRequest: Equatable {
        case whole
        case part(start: Int64, end: Int64)
        case unsatisfiable
    }

    /// Parses a Range header for a body of `length` bytes. A header that is not a byte range is ignored (the whole
    /// body, as RFC 9110 allows); of several ranges only the first is served.
    static func range(_ header: String?, length: Int64) -> RangeRequest {
        guard let header, header.hasPrefix("bytes=") else { return .whole }
        let first = header.dropFirst(6).split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        let parts = first.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return .whole }
        // A position of more digits than Int64 holds is past any file: it saturates rather than being ignored.
        let number = { (s: String) -> Int64? in
            guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            return Int64(s) ?? Int64.max
        }
        if parts[0].isEmpty {
            guard let n = number(parts[1]) else { return .whole }
            guard n > 0, length > 0 else { return .unsatisfiable }
            return .part(start: max(0, length - n), end: length - 1)
        }
        guard let start = number(parts[0]) else { return .whole }
        var end = length - 1
        if !parts[1].isEmpty {
            guard let e = number(parts[1]) else { return .whole }
            guard e >= start else { return .whole }
            end = min(e, length - 1)
        }
        guard start < length else { return .unsatisfiable }
        return .part(start: start, end: end)
    }

    /// The page view's token from the audio URL: up to 32 hex digits, or none.
    static func viewToken(_ given: String?) -> String {
        guard let given, given.count <= 32, given.allSatisfy({ $0.isHexDigit }) else { return "" }
        return given
    }

    static func serve(_ request: Request, context: WebContext, env: WebEnvironment, purpose: PlaybackPurpose) async throws -> Response {
        let vault = try env.vault(for: context)
        let signedIn = try context.user()
        let id = try context.parameters.require("id")
        // One `recording.played` per page view (the page's `view` token) and call, however many range requests
        // the player makes; a fetch without the page's token is a playback of its own per session. Marked before
        // opening so that concurrent ranges record one event; unmarked when the open is refused or fails, so the
        // playback that does happen later is audited.
        let view = Self.viewToken(request.uri.queryParameters["view"].map(String.init))
        let playKey = id + "|" + view
        let first = purpose == .play && request.method != .head ? await env.sessions.markPlayed(token: signedIn.token, recording: playKey) : false
        let source: PlaybackSource
        do {
            let sending = request.method != .head
            source = try await blocking { try Playback(vault: vault).open(id: id, purpose: purpose, recordEvent: first, sending: sending) }
        } catch {
            if first { await env.sessions.unmarkPlayed(token: signedIn.token, recording: playKey) }
            throw error
        }
        var headers: HTTPFields = [.acceptRanges: "bytes", .contentType: source.contentType]
        headers[.cacheControl] = "private, no-store"
        if purpose == .download {
            headers[.contentDisposition] = "attachment; filename=\"\(source.fileName)\""
        }
        let start: Int64, end: Int64, status: HTTPResponse.Status
        switch range(request.headers[.range], length: source.length) {
        case .whole:
            (start, end, status) = (0, source.length - 1, .ok)
        case .part(let s, let e):
            (start, end, status) = (s, e, .partialContent)
            headers[.contentRange] = "bytes \(s)-\(e)/\(source.length)"
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(source.length)"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        }
        let count = end - start + 1
        if request.method == .head {
            // As GET would answer, without a byte of audio (nor its audit: nothing left).
            headers[.contentLength] = String(max(0, count))
            return Response(status: status, headers: headers)
        }
        // The first piece is read (and its bytes checked) before the status is sent: altered audio is refused
        // with an error page, not a 200 that breaks off. A later piece that fails breaks the response off.
        let firstPiece = try await blocking { try source.read(offset: start, count: Int(min(64 * 1024, max(0, count)))) }
        let body = ResponseBody(contentLength: Int(max(0, count))) { writer in
            var offset = start
            if !firstPiece.isEmpty {
                try await writer.write(ByteBuffer(bytes: firstPiece))
                offset += Int64(firstPiece.count)
            }
            while offset <= end {
                let want = Int(min(64 * 1024, end - offset + 1))
                let at = offset
                let chunk = try await blocking { try source.read(offset: at, count: want) }
                if chunk.isEmpty { break }
                try await writer.write(ByteBuffer(bytes: chunk))
                offset += Int64(chunk.count)
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }
}
