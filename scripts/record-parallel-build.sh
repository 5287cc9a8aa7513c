#!/usr/bin/env bash
# Records a whole-system profile of a parallel C build, the kind of recording people make of a busy machine:
# `perf record -a -g` while `make -j$(nproc)` compiles a generated project of FILES C files with
# `gcc -O2 -g` (hundreds of short-lived processes: make, sh, gcc, cc1, as, collect2, ld), the build cleaned
# and repeated while perf records for SECONDS.
# Usage: scripts/record-parallel-build.sh OUT.data HZ SECONDS [FILES]   (FILES default 300)
# Prints the number of samples (perf script's count) on stdout.
set -euo pipefail
out=${1:?usage: record-parallel-build.sh OUT.data HZ SECONDS [FILES]}
hz=${2:?HZ}
secs=${3:?SECONDS}
files=${4:-300}
proj=$(mktemp -d)
trap 'rm -rf "$proj"' EXIT

# Each file: a struct, a table, a few functions with loops, a switch and helpers gcc inlines — a few tenths
# of a second of cc1 at -O2 -g.
for ((i = 0; i < files; i++)); do
  {
    echo "#include <stdio.h>"
    echo "#include <stdlib.h>"
    echo "#include <string.h>"
    echo "#include <math.h>"
    echo "struct item$i { int id; double w[8]; char name[32]; struct item$i *next; };"
    echo "static const int table$i[64] = {"
    for ((k = 0; k < 64; k++)); do printf '%d,' $(( (i * 31 + k * 17) % 251 )); done
    echo "};"
    for ((f = 0; f < 8; f++)); do
      cat <<C
static inline double mix${i}_$f(double x, int k) { return x * (k + $f) + table$i[(k + $f) & 63] / (1.0 + x * x); }
double work${i}_$f(struct item$i *it, int n) {
  double acc = 0;
  for (int a = 0; a < n; a++) {
    for (int b = 0; b < 8; b++) acc += mix${i}_$f(it->w[b], a ^ b) * sqrt(fabs(it->w[(a + b) & 7]) + 1.0);
    switch ((a + $f) % 5) {
    case 0: acc -= strlen(it->name) * 0.5; break;
    case 1: acc *= 1.0001; break;
    case 2: snprintf(it->name, sizeof it->name, "i%d_%d", a, $f); break;
    case 3: if (it->next) acc += it->next->w[a & 7]; break;
    default: acc += table$i[a & 63];
    }
  }
  return acc;
}
C
    done
    echo "double unit$i(int n) { struct item$i *it = calloc(1, sizeof *it); double s = 0;"
    for ((f = 0; f < 8; f++)); do echo "  s += work${i}_$f(it, n + $f);"; done
    echo "  free(it); return s; }"
  } >"$proj/u$i.c"
done
{
  echo "#include <stdio.h>"
  for ((i = 0; i < files; i++)); do echo "double unit$i(int);"; done
  echo "int main(void) { double s = 0;"
  for ((i = 0; i < files; i++)); do echo "  s += unit$i(3);"; done
  echo "  printf(\"%g\\n\", s); return 0; }"
} >"$proj/main.c"
objs=$(for ((i = 0; i < files; i++)); do printf 'u%d.o ' "$i"; done)
printf 'CFLAGS = -O2 -g\nprog: main.o %s\n\t$(CC) -o $@ $^ -lm\n%%.o: %%.c\n\t$(CC) $(CFLAGS) -c -o $@ $<\nclean:\n\trm -f *.o prog\n' \
  "$objs" >"$proj/Makefile"

# The build, cleaned and repeated, in the background while perf records every CPU for SECONDS (the builds
# then stopped: recording for a fixed time keeps the sample count near HZ × CPUs × SECONDS).
cat >"$proj/loop.sh" <<EOF2
#!/bin/sh
while :; do
  make -s -C "$proj" -j$(nproc) prog >/dev/null 2>&1
  make -s -C "$proj" clean >/dev/null 2>&1
done
EOF2
chmod +x "$proj/loop.sh"
setsid "$proj/loop.sh" &
loop=$!
# perf 6.1 now and then aborts in its build-id pass at the end on a busy machine (util/build-id.c assertion,
# the file left unfinished): such a run is made again, three tries in all, as the tests' perfRecord does.
for try in 1 2 3; do
  if perf record -a -g -F "$hz" -o "$out" -- sleep "$secs" >/dev/null 2>"$proj/rec"; then break; fi
  echo "perf record failed (try $try): $(tail -2 "$proj/rec" | tr '\n' ' ')" >&2
  if [ "$try" = 3 ]; then kill -- -"$loop"; cat "$proj/rec" >&2; exit 1; fi
done
kill -- -"$loop" 2>/dev/null || true
wait "$loop" 2>/dev/null || true
sync
perf script -i "$out" -F period -G 2>/dev/null | wc -l
