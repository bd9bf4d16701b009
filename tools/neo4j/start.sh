#!/usr/bin/env bash
# Runs the embedded Neo4j DBMS in the foreground (build first with tools/neo4j/build.sh).
#   tools/neo4j/start.sh [PORT] [DATADIR]
# PORT: default $NEO4J_PORT or 7688; 0 picks a free port (read it from the READY line).
# DATADIR: default $NEO4J_DATA_DIR, else a temp dir removed on shutdown.
# Env: NEO4J_USER (neo4j), NEO4J_PASSWORD (discovery-test, >= 8 chars), NEO4J_PAGECACHE (256m),
#      NEO4J_TX_MAX (256m), NEO4J_TX_ONE_MAX (128m), NEO4J_HEAP (1g), NEO4J_CDS (1: use target/neo4j.jsa if present), JAVA (java),
#      NEO4J_JVM_OPTS (more JVM options, split on spaces; e.g. -XX:TieredStopAtLevel=1).
# Stdout gets exactly one line "NEO4J READY bolt://127.0.0.1:PORT" when ready; logs go to stderr.
# SIGTERM/SIGINT: clean shutdown, exit status 0.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/neo4j-launcher.jar"
jsa="$here/target/neo4j.jsa"
if [[ ! -f "$jar" || ! -d "$here/target/lib" ]]; then
  echo "neo4j-launcher: $jar missing, building..." >&2
  NEO4J_CDS=0 "$here/build.sh" >&2
fi

cds=()
if [[ -n "${NEO4J_CDS_DUMP:-}" ]]; then            # used by build.sh to train the class-data archive
  cds=(-XX:ArchiveClassesAtExit="$NEO4J_CDS_DUMP")
elif [[ "${NEO4J_CDS:-1}" == 1 && -f "$jsa" && "$jsa" -nt "$jar" ]]; then
  # AppCDS archive of Neo4j's classes: roughly halves start-up. Silently ignored if stale.
  cds=(-XX:SharedArchiveFile="$jsa" -Xshare:auto -Xlog:cds=off -Xlog:cds+dynamic=off)
fi

read -r -a extra <<<"${NEO4J_JVM_OPTS:-}"

exec "${JAVA:-java}" \
  -Xms256m -Xmx"${NEO4J_HEAP:-1g}" \
  -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -XX:-OmitStackTraceInFastThrow \
  "${cds[@]}" "${extra[@]}" \
  --add-opens=java.base/java.nio=ALL-UNNAMED \
  --add-opens=java.base/java.io=ALL-UNNAMED \
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
  --add-opens=java.base/java.lang=ALL-UNNAMED \
  -Dio.netty.tryReflectionSetAccessible=true \
  -Djdk.nio.maxCachedBufferSize=1024 \
  -Dfile.encoding=UTF-8 \
  -cp "$jar:$here/target/lib/*" \
  dev.discovery.Neo4jLauncher "$@"
