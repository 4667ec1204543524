import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A real PostgreSQL server for the tests, from Debian's `postgresql` package (`scripts/test` installs
/// it): `initdb` into a fresh temporary directory, `pg_ctl start` on a free loopback port with its unix
/// socket in that directory, password (SCRAM) login over TCP as `user`.
///
/// One server per test process (`shared()`); each test takes a fresh database (`createDatabase()`).
/// When running as root, the server's programs run as the unprivileged `postgres` user (PostgreSQL
/// refuses to run as root). A watchdog process stops the server and removes its directory once the
/// test process ends, however it ends. When the server cannot start, `shared()` throws a
/// `PostgresServerError` that says why (with the end of the server's log): tests that need it fail,
/// never skip.
public final class PostgresServer: Sendable {
    /// The login the tests use (the cluster's superuser).
    public static let user = "orchestrator"
    /// Its password.
    public static let password = "pg-test-password-0001"

    public let port: Int
    /// The temporary directory: `data/`, `socket/`, `server.log`.
    public let directory: String
    /// The directory of `initdb`, `pg_ctl`, `psql`.
    public let binDirectory: String

    private init(port: Int, directory: String, binDirectory: String) {
        self.port = port
        self.directory = directory
        self.binDirectory = binDirectory
    }

    /// `postgres://orchestrator@127.0.0.1:<port>/<database>?sslmode=disable` (no password: it goes in
    /// `PGPASSWORD` or a password file).
    public func url(database: String) -> String {
        "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Creates an empty database with a fresh name and returns the name.
    public func createDatabase(prefix: String = "test") throws -> String {
        let name = "\(prefix)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try psql("CREATE DATABASE \(name)")
        return name
    }

    /// Runs one SQL command through `psql` over the unix socket (trusted locally).
    public func psql(_ command: String, database: String = "postgres") throws {
        let result = try Self.run(
            binDirectory + "/psql",
            ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", directory + "/socket", "-p", "\(port)", "-U", Self.user, "-d", database, "-c", command],
            asPostgres: false)
        guard result.status == 0 else {
            throw PostgresServerError(description: "psql -c \(command) failed (\(result.status)): \(result.output)")
        }
    }

    private static let started: Result<PostgresServer, PostgresServerError> = {
        do { return .success(try start()) } catch let error as PostgresServerError { return .failure(error) } catch {
            return .failure(PostgresServerError(description: "\(error)"))
        }
    }()

    /// The test process's server, started on first use.
    public static func shared() throws -> PostgresServer {
        try started.get()
    }

    /// The newest `/usr/lib/postgresql/<version>/bin` with `initdb`, or `ORCHESTRATOR_PG_BIN`.
    static func findBinDirectory() throws -> String {
        if let configured = ProcessInfo.processInfo.environment["ORCHESTRATOR_PG_BIN"], !configured.isEmpty { return configured }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        throw PostgresServerError(
            description: "no PostgreSQL server programs in \(root)/<version>/bin: install Debian's postgresql package (scripts/test does)")
    }

    private static func start() throws -> PostgresServer {
        let bin = try findBinDirectory()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("orchestrator-pg-\(UUID().uuidString.prefix(8))").path
        let asRoot = getuid() == 0
        try FileManager.default.createDirectory(atPath: directory + "/socket", withIntermediateDirectories: true)
        let passwordFile = directory + "/password"
        _ = FileManager.default.createFile(atPath: passwordFile, contents: Data((password + "\n").utf8), attributes: [.posixPermissions: 0o600])
        if asRoot {
            let chown = try run("/bin/chown", ["-R", "postgres:postgres", directory], asPostgres: false)
            guard chown.status == 0 else { throw PostgresServerError(description: "chown of \(directory) to postgres failed: \(chown.output)") }
        }
        let initdb = try run(bin + "/initdb", [
            "-D", directory + "/data", "-U", user, "--pwfile=\(passwordFile)", "--auth-local=trust", "--auth-host=scram-sha-256",
            "--no-locale", "-E", "UTF8", "--no-sync",
        ], asPostgres: asRoot)
        guard initdb.status == 0 else {
            throw PostgresServerError(description: "initdb failed (\(initdb.status)) in \(directory): \(initdb.output.suffix(2000))")
        }
        var lastFailure = ""
        for _ in 1...5 {
            let port = try freePort()
            let options = "-p \(port) -k \(directory)/socket -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                + "-c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB"
            let result = try run(bin + "/pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-o", options, "-w", "-t", "60", "start"], asPostgres: asRoot)
            if result.status == 0 {
                let server = PostgresServer(port: port, directory: directory, binDirectory: bin)
                try server.startWatchdog(asRoot: asRoot)
                return server
            }
            let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
            lastFailure = "pg_ctl start failed (\(result.status)): \(result.output.suffix(1000)); server log: \(log.suffix(2000))"
            // Another process may have taken the port between choosing and binding it: try another.
        }
        throw PostgresServerError(description: "the PostgreSQL test server did not start: \(lastFailure)")
    }

    /// Stops the server (fast shutdown) and removes its directory once this process has ended.
    private func startWatchdog(asRoot: Bool) throws {
        let stop = "\(binDirectory)/pg_ctl -D \(directory)/data -m immediate -w stop"
        let script = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            \(asRoot ? "runuser -u postgres -- " : "")\(stop) >/dev/null 2>&1
            rm -rf \(directory)
            """
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        watchdog.arguments = ["/bin/sh", "-c", script]
        watchdog.standardInput = FileHandle.nullDevice
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
    }

    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw PostgresServerError(description: "socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw PostgresServerError(description: "bind() on 127.0.0.1 failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a program to its end; as the `postgres` user when `asPostgres` (via `runuser`).
    ///
    /// With `posix_spawn` and `waitpid` rather than Foundation's `Process`, whose `waitUntilExit` never
    /// returns for `pg_ctl start`: the server it leaves running inherits what `Process` watches. The
    /// child gets no descriptor but its standard ones (`closefrom` 3), its output going to a file.
    static func run(_ program: String, _ arguments: [String], asPostgres: Bool) throws -> (status: Int32, output: String) {
        // `env -C /`: the postgres user may not read the test's working directory.
        let argv = ["/usr/bin/env", "-C", "/"] + (asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] : [program]) + arguments
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("pg-run-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        _ = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        _ = posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // glibc's `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does not show.
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            throw PostgresServerError(description: "this C library has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later)")
        }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else {
            throw PostgresServerError(description: "cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw PostgresServerError(description: "waitpid for \(program) failed: \(String(cString: strerror(errno)))") }
        }
        let exited = (status & 0x7F) == 0
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F), text)
    }
}

/// The PostgreSQL test server could not be started or used.
public struct PostgresServerError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
