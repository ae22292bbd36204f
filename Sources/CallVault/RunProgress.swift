// Progress of a long run (fixity, evidence export) for a display the front end owns: the library reports
// counts, never draws.

/// Called with the totals first, then with what was just done.
public protocol RunProgress {
    func start(files: Int, bytes: Int64)
    func advance(files: Int, bytes: Int64)
}
