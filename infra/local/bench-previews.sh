#!/usr/bin/env bash
# Preview generation (PreviewRenderer, ImageSharp 2.1.13, default settings) next to ImageMagick's
# `convert -auto-orient -resize 1280x1280 -strip` on the same generated JPEGs (1 MP and 12 MP, EXIF
# orientation 6 and full metadata): median time per preview and peak RSS of each process, in one run.
# Usage: infra/local/bench-previews.sh   (RUNS=N renders per input, default 15; TOOL_RUNS=N, default 5)
# Inputs go to .artifacts/bench-previews/ (not committed). Not a test: the machine may be shared.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
ensure_command convert imagemagick
ensure_command exiftool libimage-exiftool-perl
ensure_command /usr/bin/time time
out="$repo/.artifacts/bench-previews"
inputs="$out/inputs"
scratch="$out/scratch"
runs=${RUNS:-15}
tool_runs=${TOOL_RUNS:-5}
mkdir -p "$inputs" "$scratch"

make_input() { # name geometry
  local file="$inputs/$1.jpg"
  [[ -s "$file" ]] && return
  convert -seed 7 -size "$2" plasma:fractal -quality 92 "$file"
  exiftool -q -overwrite_original -Make=BenchCam -Model=Bench-1 -Orientation#=6 \
    -GPSLatitude=37.5665 -GPSLatitudeRef=N -GPSLongitude=126.978 -GPSLongitudeRef=E \
    -XMP-dc:Creator='Bench Person' -IPTC:By-line='Bench Person' -Comment='benchmark comment' "$file"
}
make_input 01mp 1155x866
make_input 12mp 4000x3000

now() { date +%s.%N; }

cd "$repo"
dotnet build -c Release tests/SecureImage.Benchmarks -v quiet -nologo >/dev/null
bench="tests/SecureImage.Benchmarks/bin/Release/net10.0/SecureImage.Benchmarks.dll"

printf '%-6s %-22s %9s %9s %8s %12s %12s %8s\n' image size ours_ms magick_ms ratio ours_peak_MB magick_peak_MB mem_ratio
for name in 01mp 12mp; do
  file="$inputs/$name.jpg"
  line=$(dotnet "$bench" previews "$file" "$runs")
  ours_ms=$(sed -E 's/.*median_ms=([0-9.]+).*/\1/' <<<"$line")
  ours_peak=$(sed -E 's/.*peak_rss_mb=([0-9]+).*/\1/' <<<"$line")
  size=$(awk '{print $3 $4 $5}' <<<"$line")
  # ImageMagick: the same work, quality 80 as the service's default; its peak is the largest of the runs.
  start=$(now)
  magick_peak_kb=0
  for _ in $(seq "$tool_runs"); do
    kb=$( { /usr/bin/time -f '%M' convert "$file" -auto-orient -resize 1280x1280 -strip -quality 80 "$scratch/$name-magick.jpg" ; } 2>&1 | tail -1)
    (( kb > magick_peak_kb )) && magick_peak_kb=$kb
  done
  end=$(now)
  awk -v n="$name" -v sz="$size" -v o="$ours_ms" -v s="$start" -v e="$end" -v r="$tool_runs" -v op="$ours_peak" -v mp="$magick_peak_kb" \
    'BEGIN { m = (e - s) * 1000 / r; printf "%-6s %-22s %9.1f %9.1f %7.2fx %12d %12.0f %7.2fx\n", n, sz, o, m, o / m, op, mp / 1024, op / (mp / 1024) }'
done
echo "ratio = ours / ImageMagick (below 1: ours is faster or smaller). ImageMagick's time includes process start and file I/O; ours is in-process."
echo "ours_peak_MB is the whole .NET process (runtime included); see the rss_before_mb in: $line"
