# Sourced by bench/reconcile/run.sh, whose measurements are in $WORK/lines
# ("LABEL key=value ..."): `get` reads one, `section` prints the reconcile
# section of bench/RESULTS.md from them (figures, goals, where time goes).

get() { # get LABEL KEY: one figure ("" when absent)
    awk -v l="$1" -v k="$2" '$1 == l { for (i = 2; i <= NF; i++) {
        n = index($i, "="); if (substr($i, 1, n - 1) == k) { print substr($i, n + 1); exit } } }' \
        "$WORK/lines"
}
secs() { awk -v v="$1" 'BEGIN { if (v == "") print "n/a"; else printf "%.2f", v / 1e3 }'; }
or_na() { if [ -n "$1" ]; then echo "$1"; else echo "n/a"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.1fx", a / b }'; }
meets() { # meets VALUE LIMIT: yes / no / n/a
    awk -v v="$1" -v l="$2" 'BEGIN { if (v == "") print "n/a"; else print (v + 0 < l + 0 ? "yes" : "no") }'
}
# part LINE WORD: the milliseconds the pass line gives for WORD ("read 12 ms").
part() { echo "$1" | tr '~' ' ' | sed -n "s/.*$2 \([0-9.]*\) ms.*/\1/p" | head -n 1; }
pass_text() { echo "$1" | tr '~' ' ' | sed 's/|/; then /g'; }

row() { # row TITLE LABEL KEY [GOAL] [LIMIT] [FORMAT]
    s=$(get "sqlite-$2" "$3") p=$(get "postgres-$2" "$3")
    if [ "${6:-}" = secs ]; then s=$(secs "$s") p=$(secs "$p"); fi
    [ "$s" = n/a ] && s=''; [ "$p" = n/a ] && p=''
    if [ -n "${5:-}" ]; then
        v=$(get "sqlite-$2" "$3") w=$(get "postgres-$2" "$3")
        printf '| %s | %s | %s | %s | %s / %s |\n' "$1" "$(or_na "$s")" "$(or_na "$p")" "$4" \
            "$(meets "$v" "$5")" "$(meets "$w" "$5")"
    else
        printf '| %s | %s | %s | %s | |\n' "$1" "$(or_na "$s")" "$(or_na "$p")" "${4:-}"
    fi
}

# where LABEL NAME: one bullet on where the first full pass's time went.
where() {
    pass=$(get "$1-apply" pass | cut -d'|' -f1) job=$(get "$1-apply" job_ms)
    passes=$(get "$1-apply" passes)
    [ -n "$pass" ] || { echo "- **$2**: no pass line in the log (the reconciler did not log one)."; return; }
    r=$(part "$pass" read) pl=$(part "$pass" plan) w=$(part "$pass" write) pu=$(part "$pass" push)
    awk -v n="$2" -v r="$r" -v pl="$pl" -v w="$w" -v pu="$pu" -v job="$job" -v passes="$passes" \
        -v peer="$(get "$1-peer" ms)" -v first="$(get "$1-first" job_ms)" -v idle="$(get "$1-idle" job_ms)" \
        -v icpu="$(get "$1-idle" cpu_ms)" -v ipg="$(get "$1-idle" pg_cpu_ms)" -v sidle="$(get "$1-serve" idle_ms)" \
        -v cpu="$(get "$1-apply" cpu_ms)" -v pgcpu="$(get "$1-apply" pg_cpu_ms)" '
    BEGIN {
        t = r + pl + w + pu
        if (t <= 0) { printf "- **%s**: the pass line gave no times.\n", n; exit }
        printf "- **%s**: the first pass with the profiles spent %.0f ms reading (hosts, profiles, what each was sent), %.0f ms planning, %.0f ms writing (the commands, queue rows and host-profile rows, in bounded write transactions, each holding the store'"'"'s writer path while it runs), %.0f ms asking for pushes: %.0f%% / %.0f%% / %.0f%% / %.0f%% of %.0f ms",
            n, r, pl, w, pu, 100 * r / t, 100 * pl / t, 100 * w / t, 100 * pu / t, t
        if (passes > 1) printf " (%d passes in all, %d ms)", passes, job
        if (cpu != "") {
            c = cpu + (pgcpu == "" ? 0 : pgcpu)
            printf ". It used %d ms of CPU in orchard%s: %d ms in all, %.0f%% of its wall time%s", cpu,
                (pgcpu == "" ? " (SQLite runs inside it)" : sprintf(" and %d ms in PostgreSQL", pgcpu)), c,
                (job > 0 ? 100 * c / job : 0),
                (job > 0 && c < 0.7 * job ? sprintf("; the rest was waiting (for the cores, which other work shared: see the load average%s), so a quiet machine would take nearer %d ms", (pgcpu == "" ? "" : ", and for PostgreSQL'"'"'s durable commits"), c) : "")
        }
        if (peer != "") printf ". Plain SQL wrote the same install rows in %d ms, so the store itself accounts for about %.0f%% of the pass; the rest is orchard'"'"'s own work (reads, planning, building the statements) and the extra statements and transactions it sends", peer, (job > 0 ? 100 * peer / job : 0)
        printf ". With nothing to do a full pass took %s ms in a fresh `orchard job run` (orchard used %s ms of CPU in the whole process, start-up included%s) and %s ms in a running `orchard serve`, whose connections, statements and caches are warm; the first pass, before any profile, %s ms.\n", idle, (icpu == "" ? "?" : icpu), (ipg == "" ? "" : ", PostgreSQL " ipg " ms"), (sidle == "" ? "n/a" : sidle), first
    }'
}

section() {
    CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
    LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
    APPLY=$(get sqlite-apply apply)
    if [ "$APPLY" = direct ]; then
        APPLY_NOTE="\`orchard apply\` did not work in this build, so the seed program stored the ten \`mdm_profiles\` rows and the desired-state marker itself, in one transaction (what apply's batch set writes); \"applied\" is that commit."
    else
        APPLY_NOTE="\"Applied\" is \`orchard apply -f teams.yml\` (both teams, \`kind: team\`, \`custom_settings\`) returning: the batch set committed."
    fi
    NOTE_PG=''
    [ "${PG:-no}" = yes ] || NOTE_PG="**PostgreSQL was not measured**: ${PG_NOTE:-}."
    cat <<EOF
<!-- reconcile:begin --> (bench/reconcile/run.sh rewrites this section)
### The profile reconciler: $HOSTS Macs, ten profiles in two teams

\`bench/reconcile/run.sh\`: \`bench_reconcile_seed\` fills a store with $HOSTS
enrolled Macs (valid push tokens and topic, alternating between two teams,
all on macOS 14.4, so the Nudge profile applies to none), not timed, and
\`orchard job run profiles.reconcile\` runs once before any profile (the
state profiles arrive in). Then five profiles per team are applied (2 to
10 KB each: firewall, privacy preferences, login items, notifications,
login window; Wi-Fi, root certificate, Dock, system extensions, SSO).
$APPLY_NOTE (a) is the time from there until
\`orchard job run profiles.reconcile\`, run again until it is so, has queued
every InstallProfile ($HOSTS x $PER_TEAM queue rows): the wall time of those
processes back to back (start-up, plugin load and store open are in it;
the script's own counting between them is not). (b) runs
the job $IDLE_RUNS times more with nothing to do (median). The pushes the
passes ask for are only queued by the pass (apns_push_queue); the push job
then sends them to the APNs stand-in (tests/support/apns_standin) in its
own \`orchard job run apns.push\`, timed apart. The peer is the same rows
queued by plain SQL (\`INSERT ... SELECT\` of one command per profile, a
queue row and a host-profile row per Mac and profile, a push per Mac, in
one transaction) by the sqlite3 / psql command line in a copy of the store
(its time includes starting the client and connecting): what the store
itself costs. Last, the same (a) in a running \`orchard serve\`
on a third store seeded the same (every Mac's DeviceInformation fresh, so
only the reconciler and the push job work): the reconciler checks the
desired-state marker every 2 s and runs a full pass when it moved (and every
mdm.apple_profile_reconcile_interval, set to $SERVE_INTERVAL here so an idle
full pass comes round in the run); the time is from \`orchard apply\`'s
return to the log line of the pass that queued the last install (the marker
check's wait, up to 2 s, is in it), and the push job sends to the stand-in
as it would to Apple. SQLite: \`store.sqlite\` (WAL, synchronous=NORMAL).
PostgreSQL ${PG_VERSION:-(not started)}: a private cluster on a unix socket on
this machine, durable (fsync, synchronous_commit and full_page_writes on).
Measured $DATE on $(nproc) CPU(s), $CPU; build type $BUILD_TYPE; load
average ${LOAD_START:-?} at the start and $LOAD at the end.

| figure | SQLite | PostgreSQL | goal | meets it (SQLite / PostgreSQL) |
|---|---:|---:|---|---|
$(row "(a) profiles applied -> every InstallProfile queued (\`orchard job run\`), s" apply to_queued_ms "< 5 s" 5000 secs)
$(row "reconcile passes that took" apply passes)
$(row "the passes' own time (as the job reports it), ms" apply job_ms)
$(row "the passes' CPU: orchard (the \`orchard job run\` processes), ms" apply cpu_ms)
$(row "the passes' CPU: PostgreSQL (the whole cluster), ms" apply pg_cpu_ms)
$(row "InstallProfile queue rows / expected" apply queued "$(get sqlite-apply expected)")
$(row "rows written: queue rows (all commands)" apply queue_rows)
$(row "rows written: commands (mdm_commands)" apply commands)
$(row "rows written: host-profile rows" apply host_profiles)
$(row "rows written: devices waiting for a push" apply push_queue)
$(row "\`orchard apply\` of the ten profiles, ms" apply apply_ms)
$(row "(b) a pass with nothing to do, \`orchard job run\` (a fresh process: connects, cold caches), the job's own ms (median)" idle job_ms "< 100 ms" 100)
$(row "the same, the whole \`orchard job run\` process, ms" idle wall_ms)
$(row "the same: orchard's CPU (the whole process), ms" idle cpu_ms)
$(row "the same: PostgreSQL's CPU, ms" idle pg_cpu_ms)
$(row "the first pass, before any profile, ms" first job_ms)
$(row "push job: pushes sent to the stand-in" push sent)
$(row "push job: its own time, ms" push job_ms)
$(row "peer: the same install rows by plain SQL, ms" peer ms)
$(row "in \`orchard serve\`: applied -> the pass that queued the last install, s" serve to_queued_ms "< 5 s" 5000 secs)
$(row "in \`orchard serve\`: passes that took" serve passes)
$(row "in \`orchard serve\`: of (a), the wait for the 2 s marker check (and for the passes before the last), ms" serve waited_ms)
$(row "in \`orchard serve\`: of (a), the last pass (read + plan + write + push), ms" serve last_pass_ms)
$(row "in \`orchard serve\`: serve's CPU from the apply until the script saw every install queued (up to 0.3 s later: the push job's start is in it), ms" serve cpu_ms)
$(row "in \`orchard serve\`: applied -> every push sent (push queue empty), s" serve to_pushed_ms "" "" secs)
$(row "in \`orchard serve\`: pushes sent to the stand-in" serve sent)
$(row "(b) in \`orchard serve\`: a full pass with nothing to do (read + plan + write + push), ms" serve idle_ms "< 100 ms" 100)

The pass / the peer: $(ratio "$(get sqlite-apply job_ms)" "$(get sqlite-peer ms)") on SQLite, $(ratio "$(get postgres-apply job_ms)" "$(get postgres-peer ms)") on PostgreSQL.
PostgreSQL / SQLite, (a): $(ratio "$(get postgres-apply to_queued_ms)" "$(get sqlite-apply to_queued_ms)"); (b): $(ratio "$(get postgres-idle job_ms)" "$(get sqlite-idle job_ms)").
$NOTE_PG

The reconciler's own log lines (\`profiles: pass: ...\`):

- SQLite, the pass(es) after the apply: $(pass_text "$(get sqlite-apply pass)")
- SQLite, a pass with nothing to do: $(pass_text "$(get sqlite-idle pass)")
- PostgreSQL, the pass(es) after the apply: $(pass_text "$(get postgres-apply pass)")
- PostgreSQL, a pass with nothing to do: $(pass_text "$(get postgres-idle pass)")
- \`orchard serve\` on SQLite, after the apply: $(pass_text "$(get sqlite-serve pass)"); the next full pass, with nothing to do: $(pass_text "$(get sqlite-serve idle)")
- \`orchard serve\` on PostgreSQL, after the apply: $(pass_text "$(get postgres-serve pass)"); the next full pass, with nothing to do: $(pass_text "$(get postgres-serve idle)")

**Where the time goes** (from the pass lines and the peer):

$(where sqlite SQLite)
$(where postgres PostgreSQL)
$(if [ -n "$(get postgres-stats calls)" ]; then
    echo "- **PostgreSQL's statements** (pg_stat_statements, the first pass after the apply): $(get postgres-stats calls) statements (BEGIN and COMMIT included; each one round trip unless pipelined) in $(get postgres-stats xacts) transactions, $(get postgres-stats rows) rows, $(get postgres-stats exec_ms) ms executing in the server. The most expensive:"
    [ -s "$WORK/pg-top" ] && awk -F'|' '{ printf "  - %s calls, %s rows, %s ms: `%s`\n", $1, $2, $3, $4 }' "$WORK/pg-top"
fi)

Reproduce: \`cmake --build build --target bench_reconcile_run\` (BENCH_RECONCILE_HOSTS,
BENCH_RECONCILE_IDLE_RUNS).
<!-- reconcile:end -->
EOF
}
