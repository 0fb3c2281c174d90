# Sourced by bin/careledger, bin/test and .ci/run: sets JAVA_HOME to a JDK >= 21.
# Looks at JAVA_HOME first, then the JVMs under /usr/lib/jvm (newest first); stops with a clear
# message if none is found.

careledger_java_major() {
  # prints the feature version of the JDK at $1, or nothing
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

careledger_find_java() {
  local v cand
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(careledger_java_major "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge 21 ]; then
      export JAVA_HOME
      return 0
    fi
    echo "careledger: JAVA_HOME=$JAVA_HOME is not a JDK >= 21; looking in /usr/lib/jvm" >&2
  fi
  for cand in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -V -r); do
    cand=${cand%/}
    v=$(careledger_java_major "$cand")
    if [ -n "$v" ] && [ "$v" -ge 21 ]; then
      export JAVA_HOME=$cand
      return 0
    fi
  done
  echo "careledger: no JDK 21 or newer found (JAVA_HOME unset or too old, none in /usr/lib/jvm)." >&2
  echo "careledger: install one (e.g. 'apt-get install openjdk-21-jdk-headless') or set JAVA_HOME." >&2
  return 1
}
