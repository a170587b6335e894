import Foundation
import TesseraCore
import Testing

/// A full disk and a read-only file system, for real: a 64 KiB tmpfs (and a read-only one) mounted
/// for the test. The error names the cause (ENOSPC, EROFS) in one line and nothing half-written is
/// left behind. Mounting needs root; elsewhere these tests are skipped (FileIO.errnoText's names
/// are checked without a mount in OwnershipTests).
@Suite(.serialized) struct FileSystemFailureTests {
    static func mount(_ dir: String, _ options: String) -> Bool {
        (try? runProcess("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]).status) == 0
    }
    static func unmount(_ dir: String) { _ = try? runProcess("/bin/umount", [dir]) }

    static let canMount: Bool = {
        guard geteuid() == 0, FileIO.exists("/bin/mount") else { return false }
        let dir = tempDirectory("probe-mount")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard mount(dir, "size=64k") else { return false }
        unmount(dir)
        return true
    }()

    @Test(.enabled(if: canMount, "needs root to mount a tmpfs"))
    func fullDiskIsNamedAndLeavesNothing() throws {
        let dir = tempDirectory("enospc")
        defer { Self.unmount(dir); try? FileManager.default.removeItem(atPath: dir) }
        #expect(Self.mount(dir, "size=64k"))
        let r = try runTessera(["data", "shapes", "--out", dir + "/shapes", "--count", "2000", "--size", "32"])
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stderr.contains("No space left on device (ENOSPC)"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test(.enabled(if: canMount, "needs root to mount a tmpfs"))
    func readOnlyFileSystemIsNamed() throws {
        let dir = tempDirectory("erofs")
        defer { Self.unmount(dir); try? FileManager.default.removeItem(atPath: dir) }
        #expect(Self.mount(dir, "size=64k,ro"))
        let r = try runTessera([
            "data", "shapes", "--out", dir + "/shapes", "--count", "10", "--val", "1", "--size", "8",
        ])
        #expect(r.status != 0)
        #expect(r.stderr.contains("(EROFS)"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
}
