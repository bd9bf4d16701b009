package dev.discovery;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.neo4j.cli.ExecutionContext;
import org.neo4j.commandline.admin.security.SetInitialPasswordCommand;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;
import org.neo4j.io.fs.DefaultFileSystemAbstraction;
import picocli.CommandLine;

/**
 * Starts an embedded Neo4j Community DBMS with Bolt on 127.0.0.1, for development and tests.
 *
 * <pre>
 * Usage: Neo4jLauncher [PORT] [DATADIR]
 *   PORT     Bolt port (else env NEO4J_PORT, else 7688); 0 picks a free port
 *   DATADIR  Neo4j home/data directory, created if missing (else env NEO4J_DATA_DIR,
 *            else a new temp dir that is deleted again on shutdown)
 * Env: NEO4J_USER (default neo4j), NEO4J_PASSWORD (default discovery-test, >= 8 chars),
 *      NEO4J_PAGECACHE (default 256m), NEO4J_TX_MAX (default 256m, all transactions together),
 *      NEO4J_TX_ONE_MAX (default 128m, one transaction; at most NEO4J_TX_MAX),
 *      NEO4J_EXIT_WHEN_READY=1 (stop again right after READY; used to train the CDS archive).
 * </pre>
 *
 * Stdout carries exactly one line, "NEO4J READY bolt://127.0.0.1:PORT", once Bolt accepts
 * connections with the configured credentials; all logging goes to stderr (and DATADIR/logs).
 * SIGTERM/SIGINT shut the DBMS down cleanly (shutdown hook) and the process exits 0.
 *
 * <p>A local control channel ({@link LauncherControl}, described in DATADIR/control.json) lets
 * a client on the same machine fill the empty default database with Neo4j's offline bulk
 * importer: the launcher stops the DBMS, runs {@code neo4j-admin database import full} in this
 * JVM, and starts the DBMS again on the same port.
 */
public final class Neo4jLauncher {

    static final String HOST = "127.0.0.1";
    /** Present while an offline import runs: a start that finds it removes the half-built database. */
    static final String IMPORT_MARKER = "import-in-progress";

    private final Path home;
    private final int port;
    private final long pageCache;
    private final long txTotal;
    private final long txOne;
    private final AtomicReference<DatabaseManagementService> dbmsRef = new AtomicReference<>();
    private final long t0 = System.nanoTime();

    private Neo4jLauncher(Path home, int port, long pageCache, long txTotal, long txOne) {
        this.home = home;
        this.port = port;
        this.pageCache = pageCache;
        this.txTotal = txTotal;
        this.txOne = Math.min(txTotal, txOne);
    }

    public static void main(String[] args) throws Exception {
        // Keep stdout for the single READY line; anything Neo4j or its libraries print goes to stderr.
        PrintStream stdout = System.out;
        System.setOut(System.err);

        int port = Integer.parseInt(arg(args, 0, "NEO4J_PORT", "7688"));
        String dataArg = arg(args, 1, "NEO4J_DATA_DIR", null);
        String user = env("NEO4J_USER", "neo4j");
        String password = env("NEO4J_PASSWORD", "discovery-test");
        long pageCache = ByteUnit.parse(env("NEO4J_PAGECACHE", "256m"));
        long txTotal = ByteUnit.parse(env("NEO4J_TX_MAX", "256m"));
        long txOne = ByteUnit.parse(env("NEO4J_TX_ONE_MAX", "128m"));
        boolean exitWhenReady = "1".equals(env("NEO4J_EXIT_WHEN_READY", "0"));

        if (password.length() < 8) {
            die("NEO4J_PASSWORD must be at least 8 characters (Neo4j's minimum)");
        }
        if (!user.matches("[A-Za-z0-9_.-]+")) {
            die("NEO4J_USER may only contain letters, digits, '_', '.', '-'");
        }
        if (port == 0) {
            port = freePort();
        }
        boolean tempHome = dataArg == null;
        Path home = tempHome ? Files.createTempDirectory("neo4j-dev-") : Path.of(dataArg);
        Files.createDirectories(home);
        home = home.toAbsolutePath().normalize();
        Neo4jLauncher launcher = new Neo4jLauncher(home, port, pageCache, txTotal, txOne);

        // Clean shutdown on SIGTERM/SIGINT/exit. Registered before start so a signal during start-up
        // also stops whatever has been started.
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicReference<LauncherControl> controlRef = new AtomicReference<>();
        Path homeToDelete = tempHome ? home : null;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                LauncherControl control = controlRef.getAndSet(null);
                if (control != null) {
                    control.close();
                }
                launcher.stopDbms();
                if (homeToDelete != null) {
                    deleteTree(homeToDelete);
                }
            } catch (Throwable t) {
                t.printStackTrace();
            } finally {
                System.err.println("neo4j-launcher: stopped");
                stopped.countDown();
            }
        }, "neo4j-shutdown"));
        exitZeroOn("TERM");
        exitZeroOn("INT");

        launcher.removeUnfinishedImport();
        // Fresh store + default user: write the initial password the way `neo4j-admin dbms
        // set-initial-password` does (data/dbms/auth.ini, read once when the system db is created).
        // Otherwise (existing store, or another user) the password is set through Cypher below.
        boolean initialPasswordWritten = false;
        if ("neo4j".equals(user) && !Files.exists(home.resolve("data/databases/system"))) {
            initialPasswordWritten = setInitialPassword(home, password);
        }

        System.err.printf("neo4j-launcher: starting Neo4j %s in %s, bolt %s:%d%n",
                neo4jVersion(), home, HOST, port);
        try {
            DatabaseManagementService dbms = launcher.startDbms();
            if (!initialPasswordWritten) {
                setCredentials(dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME), user, password);
                launcher.log("credentials set");
            }
            if (!exitWhenReady) {
                controlRef.set(LauncherControl.open(launcher, "bolt://" + HOST + ":" + port));
            }
        } catch (Throwable t) {
            System.err.println("neo4j-launcher: start-up failed");
            t.printStackTrace();
            System.exit(1); // runs the shutdown hook
        }

        launcher.log("ready");
        stdout.println("NEO4J READY bolt://" + HOST + ":" + port);
        stdout.flush();

        if (exitWhenReady) {
            System.exit(0);
        }
        stopped.await(); // released by the shutdown hook; the JVM then exits
    }

    Path home() {
        return home;
    }

    /** Builds and starts the DBMS, waits for the default database and Bolt, warms up Cypher. */
    synchronized DatabaseManagementService startDbms() throws IOException, InterruptedException {
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(HOST, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(HOST, port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCache)
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, txTotal)
                .setConfig(GraphDatabaseSettings.memory_transaction_max_size, txOne)
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "2 files")
                // Netty's default quiet period is 5 s per event-loop group (10 s to stop Bolt).
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(5))
                .build();
        dbmsRef.set(dbms);
        log("DBMS started");
        GraphDatabaseService db = defaultDatabase();
        if (!db.isAvailable(TimeUnit.MINUTES.toMillis(2))) {
            throw new IllegalStateException("default database did not become available");
        }
        // Warm up the Cypher stack (seconds on a cold JVM) so that a client's first query is fast.
        db.executeTransactionally("MATCH (n) WITH count(n) AS c RETURN c");
        log("cypher warmed up");
        waitForPort(port, 60_000);
        return dbms;
    }

    /** Shuts the DBMS down if it runs (Bolt closes with it). */
    synchronized void stopDbms() {
        DatabaseManagementService dbms = dbmsRef.getAndSet(null);
        if (dbms != null) {
            System.err.println("neo4j-launcher: shutting down");
            dbms.shutdown();
        }
    }

    GraphDatabaseService defaultDatabase() {
        DatabaseManagementService dbms = dbmsRef.get();
        if (dbms == null) {
            throw new IllegalStateException("the DBMS is not running");
        }
        return dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
    }

    /** The default database's store and transaction-log folders. */
    Path[] defaultDatabaseFolders() {
        String name = GraphDatabaseSettings.DEFAULT_DATABASE_NAME;
        return new Path[] {
            home.resolve("data/databases").resolve(name), home.resolve("data/transactions").resolve(name)
        };
    }

    /** An import was cut short (the process died): the database it was building is discarded. */
    void removeUnfinishedImport() throws IOException {
        Path marker = home.resolve("data").resolve(IMPORT_MARKER);
        if (Files.exists(marker)) {
            System.err.println("neo4j-launcher: removing the database of an unfinished offline import");
            for (Path folder : defaultDatabaseFolders()) {
                deleteTree(folder);
            }
            Files.delete(marker);
        }
    }

    /** Equivalent of `neo4j-admin dbms set-initial-password PW` for a store not created yet. */
    private static boolean setInitialPassword(Path home, String password) {
        ExecutionContext ctx = new ExecutionContext(home, home.resolve("conf"), System.err, System.err,
                new DefaultFileSystemAbstraction());
        return new CommandLine(new SetInitialPasswordCommand(ctx)).execute(password) == 0;
    }

    /** Sets (or creates) the login user with the given password, no change required. */
    private static void setCredentials(GraphDatabaseService system, String user, String password) {
        if (!"neo4j".equals(user)) {
            system.executeTransactionally(
                    "CREATE USER `" + user + "` IF NOT EXISTS SET PASSWORD $pw CHANGE NOT REQUIRED",
                    Map.of("pw", password));
        }
        try {
            system.executeTransactionally(
                    "ALTER USER `" + user + "` SET PASSWORD $pw CHANGE NOT REQUIRED",
                    Map.of("pw", password));
        } catch (RuntimeException e) {
            // Existing store with the same password: Neo4j refuses "old == new", which is fine.
            if (!String.valueOf(e.getMessage()).contains("cannot be the same")) {
                throw e;
            }
        }
    }

    /** SIGTERM/SIGINT: run the shutdown hook, then exit 0 instead of 128+signal. */
    private static void exitZeroOn(String signal) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> new Thread(() -> System.exit(0)).start());
        } catch (Throwable t) {
            // Signal API unavailable: the JVM's default handling still runs the shutdown hook.
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return s.getLocalPort();
        }
    }

    private static void waitForPort(int port, long timeoutMs) throws InterruptedException, IOException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(HOST, port), 1000);
                return;
            } catch (IOException e) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IOException("Bolt port " + port + " not accepting connections", e);
                }
                Thread.sleep(100);
            }
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static String neo4jVersion() {
        Package p = DatabaseManagementService.class.getPackage();
        String v = p == null ? null : p.getImplementationVersion();
        return v == null ? "(unknown version)" : v;
    }

    void log(String what) {
        System.err.printf("neo4j-launcher: %s after %d ms%n", what, (System.nanoTime() - t0) / 1_000_000);
    }

    private static String arg(String[] args, int i, String envName, String dflt) {
        if (args.length > i && !args[i].isBlank()) {
            return args[i];
        }
        return env(envName, dflt);
    }

    private static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : v;
    }

    private static void die(String msg) {
        System.err.println("neo4j-launcher: " + msg);
        System.exit(2);
    }
}
