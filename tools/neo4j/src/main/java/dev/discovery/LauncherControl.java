package dev.discovery;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import org.neo4j.cli.ContextInjectingFactory;
import org.neo4j.cli.ExecutionContext;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.importer.ImportCommand;
import org.neo4j.io.fs.DefaultFileSystemAbstraction;
import picocli.CommandLine;

/**
 * The launcher's local control channel: a TCP socket on 127.0.0.1 that a client on this machine
 * uses to fill the empty default database with Neo4j's offline bulk importer.
 *
 * <p>DATADIR/control.json (readable by the owner only) names it:
 * {@code {"bolt": "bolt://127.0.0.1:7688", "port": 41234, "token": "..."}}.
 *
 * <p>Protocol (UTF-8 lines): the client sends the token, then a command.
 * <ul>
 *   <li>{@code PING}: answered {@code OK}.</li>
 *   <li>{@code IMPORT}, then the arguments of {@code neo4j-admin database import full} one per
 *   line, then {@code END}: the launcher refuses (without stopping anything) unless the default
 *   database holds no node; otherwise it stops the DBMS, runs the importer into the default
 *   database ({@code --overwrite-destination}, the report under DATADIR/logs), and starts the DBMS
 *   again on the same Bolt port. Answer: {@code OK <milliseconds>} once Bolt accepts logins again,
 *   or {@code ERROR <one line>}. A failed import leaves an empty database, as before.</li>
 * </ul>
 * One request at a time; the importer's output goes to the launcher's stderr.
 */
final class LauncherControl implements AutoCloseable {

    static final String FILE = "control.json";
    private static final int MAX_LINE = 1 << 16;
    private static final int MAX_ARGS = 10_000;

    private final Neo4jLauncher launcher;
    private final ServerSocket server;
    private final String token;
    private final Path file;
    private final Thread thread;

    private LauncherControl(Neo4jLauncher launcher, ServerSocket server, String token, Path file) {
        this.launcher = launcher;
        this.server = server;
        this.token = token;
        this.file = file;
        this.thread = new Thread(this::serve, "neo4j-launcher-control");
        this.thread.setDaemon(true);
    }

    /** Opens the socket, writes DATADIR/control.json and starts serving. */
    static LauncherControl open(Neo4jLauncher launcher, String boltUri) throws IOException {
        ServerSocket server = new ServerSocket(0, 4, InetAddress.getByName(Neo4jLauncher.HOST));
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        String token = HexFormat.of().formatHex(secret);
        Path file = launcher.home().resolve(FILE);
        Path tmp = launcher.home().resolve(FILE + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(tmp);
        }
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            w.write("{\"bolt\": \"" + boltUri + "\", \"port\": " + server.getLocalPort()
                    + ", \"token\": \"" + token + "\"}\n");
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        LauncherControl control = new LauncherControl(launcher, server, token, file);
        control.thread.start();
        return control;
    }

    @Override
    public void close() {
        try {
            server.close();
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // shutting down anyway
        }
    }

    private void serve() {
        while (!server.isClosed()) {
            try (Socket socket = server.accept()) {
                socket.setSoTimeout(60_000); // for reading the request; the import itself may take long
                BufferedReader in = new BufferedReader(
                        new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                String reply = handle(in);
                OutputStream out = socket.getOutputStream();
                out.write((reply.replace('\n', ' ') + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (SocketException e) {
                if (server.isClosed()) {
                    return;
                }
                System.err.println("neo4j-launcher: control connection failed: " + e.getMessage());
            } catch (IOException | RuntimeException e) {
                System.err.println("neo4j-launcher: control request failed: " + e);
            }
        }
    }

    private String handle(BufferedReader in) throws IOException {
        String given = readLine(in);
        if (given == null || !java.security.MessageDigest.isEqual(
                given.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
            return "ERROR wrong control token";
        }
        String command = readLine(in);
        if ("PING".equals(command)) {
            return "OK";
        }
        if (!"IMPORT".equals(command)) {
            return "ERROR unknown command: " + command;
        }
        List<String> args = new ArrayList<>();
        for (String line = readLine(in); !"END".equals(line); line = readLine(in)) {
            if (line == null || args.size() >= MAX_ARGS) {
                return "ERROR the IMPORT request ended before END";
            }
            args.add(line);
        }
        return importIntoEmptyDatabase(args);
    }

    private static String readLine(BufferedReader in) throws IOException {
        String line = in.readLine();
        if (line != null && line.length() > MAX_LINE) {
            throw new IOException("request line too long");
        }
        return line;
    }

    private String importIntoEmptyDatabase(List<String> args) {
        long started = System.nanoTime();
        long nodes = launcher.defaultDatabase().executeTransactionally(
                "MATCH (n) RETURN count(n) AS n", Map.of(), r -> (Long) r.next().get("n"));
        if (nodes > 0) {
            return "ERROR the database holds " + nodes
                    + " nodes: the offline import only fills an empty database";
        }
        Path marker = launcher.home().resolve("data").resolve(Neo4jLauncher.IMPORT_MARKER);
        String failure = null;
        launcher.stopDbms();
        try {
            Files.createDirectories(marker.getParent());
            Files.writeString(marker, "offline import under way\n");
            failure = runImporter(args);
            if (failure != null) {
                for (Path folder : launcher.defaultDatabaseFolders()) {
                    Neo4jLauncher.deleteTree(folder);
                }
            }
            Files.deleteIfExists(marker);
        } catch (IOException | RuntimeException e) {
            failure = "the offline import failed: " + e;
        }
        try {
            launcher.startDbms();
        } catch (Throwable t) {
            System.err.println("neo4j-launcher: the DBMS did not start again after the import");
            t.printStackTrace();
            new Thread(() -> System.exit(1)).start();
            return "ERROR the DBMS did not start again after the import: " + t;
        }
        long millis = (System.nanoTime() - started) / 1_000_000;
        launcher.log("offline import " + (failure == null ? "done" : "failed"));
        return failure == null ? "OK " + millis : "ERROR " + failure;
    }

    /** Runs `neo4j-admin database import full` in this JVM; null on success, else the reason. */
    private String runImporter(List<String> args) {
        List<String> all = new ArrayList<>();
        all.add("full");
        all.addAll(args);
        all.add("--overwrite-destination=true");
        all.add("--report-file=" + launcher.home().resolve("logs").resolve("import.report"));
        all.add(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(new Tee(System.err, captured), true, StandardCharsets.UTF_8);
        ExecutionContext ctx = new ExecutionContext(launcher.home(), launcher.home().resolve("conf"),
                System.err, err, new DefaultFileSystemAbstraction());
        // as `neo4j-admin database import full`: the parent command, its subcommands made by the
        // factory that hands them the execution context
        CommandLine cli = new CommandLine(new ImportCommand(), new ContextInjectingFactory(ctx))
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setErr(new java.io.PrintWriter(err, true))
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    e.printStackTrace(System.err);
                    err.println("the importer failed: " + e.getMessage());
                    return 1;
                });
        int code = cli.execute(all.toArray(String[]::new));
        err.flush();
        if (code == 0) {
            return null;
        }
        String[] lines = captured.toString(StandardCharsets.UTF_8).strip().split("\n");
        String last = lines.length == 0 ? "" : lines[lines.length - 1].strip();
        return "the importer exited with status " + code + (last.isEmpty() ? "" : ": " + last);
    }

    /** Writes to the launcher's stderr and keeps the last 64 KiB for the error reply. */
    private static final class Tee extends OutputStream {
        private final OutputStream first;
        private final ByteArrayOutputStream second;

        Tee(OutputStream first, ByteArrayOutputStream second) {
            this.first = first;
            this.second = second;
        }

        @Override
        public void write(int b) throws IOException {
            first.write(b);
            keep();
            second.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            first.write(b, off, len);
            keep();
            second.write(b, off, len);
        }

        private void keep() {
            if (second.size() > (1 << 16)) {
                byte[] tail = second.toByteArray();
                second.reset();
                second.write(tail, tail.length - (1 << 15), 1 << 15);
            }
        }

        @Override
        public void flush() throws IOException {
            first.flush();
        }
    }
}
