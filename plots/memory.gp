# plots/memory.gp: memory over time, the chart of `run --memory-trace`
# (what `mprof plot` draws for memory_profiler). The build embeds this file
# in the gil-lab binary (plots/memchart.c), which feeds it to gnuplot on
# standard input, once for a PNG and once for an SVG.
#
# Input: the prelude plots/memchart.c writes in front of this script:
#
#   nrows                 rows of the run that were traced
#   label[1..nrows]       each row's name on the key
#   heap[1..nrows]        1 when the row has heap figures (traced in the
#                         sampling process), 0 when only RSS
#   $mem                  one index per row: "t_s heap_mib rss_mib" lines
#   $gc                   one index per row: "t_s generation pause_ms"
#                         lines (a dummy line "NaN 0 0" when none)
#   title1, title2, footer, ymax, xmax
#   term                  'png' or 'svg'
#
# Output: the picture, on standard output (a file gil-lab created).
#
# What it draws: per row, its traced heap (requested bytes, solid) and the
# RSS of all its processes (dashed, same colour), in MiB against seconds;
# below them, a tick per collection, its height the generation (0, 1, 2)
# so that full collections stand out.

if (!exists("nrows")) nrows = 1
if (!exists("title1")) title1 = "memory over time"
if (!exists("title2")) title2 = ""
if (!exists("footer")) footer = ""
if (!exists("ymax")) ymax = 1
if (!exists("xmax")) xmax = 1
if (!exists("term")) term = "png"

if (term eq "svg") {
    set terminal svg size 1600,900 font "sans,18" noenhanced background rgb "white"
} else {
    set terminal pngcairo size 1600,900 font "sans,18" noenhanced background rgb "white"
}
set output
set termoption noenhanced
set encoding utf8

set multiplot layout 2,1 title title1."\n".title2 font ",20"
# One time axis for both panels, so that a collection sits under the
# memory it freed.
set xrange [0:xmax]

# Top: memory.
set lmargin 12
set rmargin 34
set size 1,0.66
set origin 0,0.24
set xlabel ""
set ylabel "MiB"
set yrange [0:ymax * 1.08]
set grid ytics lc rgb "#dddddd"
set key outside right top vertical font ",14" title "solid heap, dashed RSS" left
set style line 1 lc rgb "#1f77b4" lw 3
set style line 2 lc rgb "#d62728" lw 3
set style line 3 lc rgb "#2ca02c" lw 3
set style line 4 lc rgb "#9467bd" lw 3
set style line 5 lc rgb "#ff7f0e" lw 3
set style line 6 lc rgb "#8c564b" lw 3
set style line 7 lc rgb "#e377c2" lw 3
set style line 8 lc rgb "#7f7f7f" lw 3
set style increment user
plot for [i=1:nrows] $mem index (i-1) using 1:(heap[i] ? $2 : NaN) with lines ls ((i-1)%8+1) \
         title label[i], \
     for [i=1:nrows] $mem index (i-1) using 1:3 with lines ls ((i-1)%8+1) dt 2 lw 2 notitle

# Bottom: the collections.
set size 1,0.22
set origin 0,0.0
unset key
set rmargin 34
set xlabel "seconds since the run started"
set ylabel "GC gen" font ",14"
set yrange [-0.5:2.5]
set ytics 0,1,2 font ",14"
set label 1 footer at screen 0.99, screen 0.01 right font ",12" textcolor rgb "#777777"
plot for [i=1:nrows] $gc index (i-1) using 1:2 with impulses ls ((i-1)%8+1) lw 2 notitle, \
     for [i=1:nrows] $gc index (i-1) using 1:2 with points ls ((i-1)%8+1) pt 7 ps 0.6 notitle
unset multiplot
