#!/usr/bin/env bash
# Builds the embedded Neo4j launcher: target/neo4j-launcher.jar + target/lib/*.jar, then trains
# an AppCDS archive target/neo4j.jsa (one throw-away start on a free port; skip with NEO4J_CDS=0).
# Idempotent: does nothing when the outputs are newer than pom.xml and src/ (FORCE=1 rebuilds).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/neo4j-launcher.jar"
jsa="$here/target/neo4j.jsa"

if [[ "${FORCE:-0}" == 1 || ! -f "$jar" || ! -d "$here/target/lib" ]] \
   || [[ -n "$(find "$here/pom.xml" "$here/src" -newer "$jar" -print -quit)" ]]; then
  mvn -q -B -f "$here/pom.xml" package -DskipTests
  touch "$jar"
fi

if [[ "${NEO4J_CDS:-1}" == 1 ]] && [[ ! -f "$jsa" || "$jar" -nt "$jsa" ]]; then
  echo "neo4j-launcher: training class-data archive $jsa ..." >&2
  rm -f "$jsa" "$jsa.tmp"
  if NEO4J_EXIT_WHEN_READY=1 NEO4J_CDS_DUMP="$jsa.tmp" NEO4J_DATA_DIR= \
       "$here/start.sh" 0 >/dev/null 2>"$here/target/cds-training.log" && [[ -s "$jsa.tmp" ]]; then
    mv "$jsa.tmp" "$jsa"
  else
    rm -f "$jsa.tmp"
    echo "neo4j-launcher: CDS training failed (see target/cds-training.log); start-up will just be slower" >&2
  fi
fi
