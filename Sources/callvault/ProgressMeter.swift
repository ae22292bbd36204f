// Progress of a long run on the terminal (files, bytes, rate, time left), redrawn in place on stderr.
import CallVault
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Shows progress on stderr only when stderr is a terminal (never in logs, pipes or `--json` runs): one
/// line redrawn in place at most a few times a second, erased by `finish()`. Used by one thread.
final class ProgressMeter {
    let label: String
    private(set) var totalFiles: Int
    private(set) var totalBytes: Int64
    private(set) var files = 0
    private(set) var bytes: Int64 = 0
    /// False when stderr is not a terminal or the caller asked for machine output: then nothing is written.
    let enabled: Bool
    private let started = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private var drawn = false

    /// Redraws at most every 250 ms: enough to look alive, cheap even at a million small files.
    static let interval: UInt64 = 250_000_000

    init(label: String, files: Int = 0, bytes: Int64 = 0, enabled: Bool = true) {
        self.label = label
        totalFiles = files
        totalBytes = bytes
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    /// Sets the totals once they are known (a run may count them after it started).
    func setTotals(files: Int, bytes: Int64) {
        totalFiles = files
        totalBytes = bytes
    }

    func advance(files: Int, bytes: Int64) {
        self.files += files
        self.bytes += bytes
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        if drawn, now - lastDraw < Self.interval { return }
        lastDraw = now
        draw(now)
    }

    /// Erases the line, so the summary that follows starts on a clean line.
    func finish() {
        guard enabled, drawn else { return }
        write("\r\u{1B}[K")
        drawn = false
    }

    private func draw(_ now: UInt64) {
        let elapsed = Double(now - started) / 1e9
        let rate = elapsed > 0 ? Double(bytes) / elapsed : 0
        var text = "\(label): \(files)/\(totalFiles) files, \(Self.size(bytes))/\(Self.size(totalBytes))"
        text += ", \(Self.size(Int64(rate)))/s"
        if rate > 0, totalBytes > bytes {
            text += ", " + Self.clock(Double(totalBytes - bytes) / rate) + " left"
        }
        write("\r\u{1B}[K" + text)
        drawn = true
    }

    private func write(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }

    /// "812 B", "4.2 MB", "1.3 GB": decimal units, as `--max-rate` is in MB/s.
    static func size(_ n: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(n)
        var i = 0
        while v >= 1000, i < units.count - 1 {
            v /= 1000
            i += 1
        }
        return i == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[i]
    }

    /// "0:42", "12:05", "3:02:10".
    static func clock(_ seconds: Double) -> String {
        let s = Int(min(seconds, 359_999).rounded())
        let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
    }
}

extension ProgressMeter: RunProgress {
    func start(files: Int, bytes: Int64) { setTotals(files: files, bytes: bytes) }
}
