# Timing helpers shared by the benchmarks.

# Median of the numbers on stdin.
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# Seconds (float) a command takes. Bash's own clock ($EPOCHREALTIME), so no
# helper process runs inside the measured interval: millisecond-scale
# commands are compared on what they do, not on the cost of `date`.
time_cmd() {
  local start end
  start=$EPOCHREALTIME
  "$@" >/dev/null 2>&1 || { echo "command failed: $*" >&2; return 1; }
  end=$EPOCHREALTIME
  echo "$end - $start" | bc -l
}
