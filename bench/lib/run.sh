# Sourced by bench/*.sh: `run LABEL COMMAND...` times a command and prints "SECONDS PEAK_KB" on stdout (the
# label and figures on stderr). Peak memory comes from /usr/bin/time on the first run; the time is that run's
# when it takes 5 s or more, else the best of $runs more runs (3 × $runs under 0.1 s: one scheduling hiccup on
# this shared machine is a tenth of such a run) on bash's microsecond clock (time's own is 10 ms coarse).
# Needs $dir (a scratch folder) and $runs.
run() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$dir/t" "$@" >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; exit 1; }
  local best bm
  read -r best bm <"$dir/t"
  if awk -v t="$best" 'BEGIN { exit !(t < 5) }'; then
    local us="" n=$runs
    if awk -v t="$best" 'BEGIN { exit !(t < 0.1) }'; then n=$(( runs * 3 )); fi
    for _ in $(seq "$n"); do
      # bash's own clock: $(date) would fork a process inside the timed span (a millisecond or two).
      local t0=${EPOCHREALTIME/./}
      "$@" >/dev/null 2>&1
      local u=$(( ${EPOCHREALTIME/./} - t0 ))
      if [ -z "$us" ] || [ "$u" -lt "$us" ]; then us=$u; fi
    done
    best=$(awk -v us="$us" 'BEGIN { printf "%.4f", us / 1e6 }')
  fi
  printf '  %-72s %8s s %9s KB\n' "$label" "$best" "$bm" >&2
  echo "$best $bm"
}

# `sampling_plan TARGET`: sets hz (the kernel's highest sampling rate, 20 kHz at most) and secs (enough seconds
# for TARGET samples at hz from the bundled workloads' two busy threads, one on a 1-CPU machine).
sampling_plan() {
  local max cpus threads
  max=$(cat /proc/sys/kernel/perf_event_max_sample_rate 2>/dev/null || echo 20000)
  hz=$(( max < 20000 ? max : 20000 ))
  cpus=$(nproc)
  threads=$(( cpus < 2 ? cpus : 2 ))
  secs=$(( $1 / (hz * threads) + 1 ))
}
