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
#   plots/theme.gp        width, height, dark, and what it defines
#   term                  'png', 'svg' or 'pdf'
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

eval theme_terminal(term, 18)
set output
set termoption noenhanced
set encoding utf8

set multiplot layout 2,1 title title1."\n".title2 font sprintf(",%d", pt(20)) textcolor rgb fg
# One time axis for both panels, so that a collection sits under the
# memory it freed.
set xrange [0:xmax]

# Top: memory.
set lmargin 12
set rmargin 34
set size 1,0.66
set origin 0,0.24
set xlabel ""
set ylabel "MiB" textcolor rgb fg
set border lc rgb fg
set xtics textcolor rgb fg
set ytics textcolor rgb fg
set yrange [0:ymax * 1.08]
set grid ytics lc rgb gridc
keyfont = sprintf(",%d", pt(14))  # set key and set tics take a variable, not an expression
set key outside right top vertical font keyfont textcolor rgb fg title "solid heap, dashed RSS" left textcolor rgb fg
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
set xlabel "seconds since the run started" textcolor rgb fg
set ylabel "GC gen" font sprintf(",%d", pt(14)) textcolor rgb fg
set yrange [-0.5:2.5]
set ytics 0,1,2 font keyfont textcolor rgb fg
set label 1 footer at screen 0.99, screen 0.01 right font sprintf(",%d", pt(12)) textcolor rgb muted
plot for [i=1:nrows] $gc index (i-1) using 1:2 with impulses ls ((i-1)%8+1) lw 2 notitle, \
     for [i=1:nrows] $gc index (i-1) using 1:2 with points ls ((i-1)%8+1) pt 7 ps 0.6 notitle
unset multiplot
