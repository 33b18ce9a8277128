#!/usr/bin/env bash
# Measures the sanitizer against exiftool -all= and jpegtran -copy none on the same generated JPEGs
# (1 MP and 12 MP, full metadata: EXIF with GPS and thumbnail, XMP, IPTC) in one run.
# Usage: infra/local/bench-sanitizer.sh [--full]   (--full also runs the BenchmarkDotNet suite)
# Inputs go to .artifacts/bench-sanitizer/ (not committed). Needs: imagemagick, libimage-exiftool-perl,
# libjpeg-turbo-progs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$repo/.artifacts/bench-sanitizer"
inputs="$out/inputs"
scratch="$out/scratch"
tool_runs=${TOOL_RUNS:-5}
our_runs=${OUR_RUNS:-200}
mkdir -p "$inputs" "$scratch"

for tool in convert exiftool jpegtran; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y imagemagick libimage-exiftool-perl libjpeg-turbo-progs" >&2; exit 1; }
done

make_input() { # name geometry
  local file="$inputs/$1.jpg"
  [[ -s "$file" ]] && return
  convert -seed 7 -size "$2" plasma:fractal -quality 92 "$file"
  convert "$file" -thumbnail 160x120 "$scratch/thumb.jpg"
  exiftool -q -overwrite_original \
    -Make=BenchCam -Model=Bench-1 -SerialNumber=SN123456 -Orientation#=6 \
    -GPSLatitude=37.5665 -GPSLatitudeRef=N -GPSLongitude=126.978 -GPSLongitudeRef=E -GPSAltitude=38 \
    '-ThumbnailImage<='"$scratch/thumb.jpg" \
    -XMP-dc:Creator='Bench Person' -XMP-dc:Description='benchmark image' -XMP-photoshop:City=Seoul \
    -IPTC:By-line='Bench Person' -IPTC:Caption-Abstract='benchmark caption' -IPTC:City=Seoul \
    -Comment='benchmark comment' "$file"
}
make_input 01mp 1155x866
make_input 12mp 4000x3000

now() { date +%s.%N; }
time_tool() { # runs command N times, prints ms per run
  local runs=$1; shift
  local start end
  start=$(now)
  for _ in $(seq "$runs"); do "$@" >/dev/null 2>&1; done
  end=$(now)
  awk -v s="$start" -v e="$end" -v n="$runs" 'BEGIN { printf "%.3f", (e - s) * 1000 / n }'
}

cd "$repo"
dotnet build -c Release tests/SecureImage.Benchmarks -v quiet -nologo >/dev/null
ours=$(SANITIZER_BENCH_INPUTS="$inputs" dotnet tests/SecureImage.Benchmarks/bin/Release/net10.0/SecureImage.Benchmarks.dll --quick "$our_runs")

printf '%-8s %10s %12s %14s %14s %10s %10s %9s\n' image bytes ours_ms exiftool_ms jpegtran_ms vs_exif vs_jpegt ours_MB/s
for name in 01mp 12mp; do
  file="$inputs/$name.jpg"
  line=$(grep " $name.jpg " <<<"$ours")
  ours_ms=$(sed -E 's/.*median_ms=([0-9.]+).*/\1/' <<<"$line")
  mbps=$(sed -E 's/.*MBps=([0-9]+).*/\1/' <<<"$line")
  exif_ms=$(time_tool "$tool_runs" sh -c "rm -f '$scratch/exiftool-out.jpg'; exiftool -q -all= -o '$scratch/exiftool-out.jpg' '$file'")
  jpegtran_ms=$(time_tool "$tool_runs" jpegtran -copy none -outfile "$scratch/jpegtran-out.jpg" "$file")
  awk -v n="$name" -v b="$(stat -c %s "$file")" -v o="$ours_ms" -v x="$exif_ms" -v j="$jpegtran_ms" -v m="$mbps" \
    'BEGIN { printf "%-8s %10d %12.4f %14.1f %14.1f %9.0fx %9.0fx %9d\n", n, b, o, x, j, x / o, j / o, m }'
done

if [[ "${1:-}" == "--full" ]]; then
  SANITIZER_BENCH_INPUTS="$inputs" dotnet tests/SecureImage.Benchmarks/bin/Release/net10.0/SecureImage.Benchmarks.dll \
    --filter '*SanitizerBenchmarks*' --artifacts "$out/benchmarkdotnet"
fi
