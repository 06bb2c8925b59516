# plots/bars.gp: gil-lab's clustered bar chart. The build embeds this file
# in the gil-lab binary (plots/plot.c), which feeds it to gnuplot on standard
# input with a results folder as the working directory, once per format.
#
# Input: chart.dat, written by plot.c, one gnuplot data block per bar series
# (a mode and its worker count) and a last block with the cluster labels:
#
#   "single" median min max          <- header line: the series title
#   0 4.77 4.75 4.79                  <- x, median, min, max (in `unit`)
#   5 3.10 3.00 3.20
#   <two blank lines>
#   ...
#   1.5 "gil / pymalloc"              <- last block: cluster centre, label
#
# Output: the picture, on standard output (a file gil-lab created; gnuplot
# never opens an output name of its own).
#
# Variables (gnuplot -e): term ('png' or 'svg'), nseries, nclusters, runs (0
# when rows differ), unit and valuefmt (the bar labels' format); data,
# ylabel and note (what the bars and error bars are) default to the wall
# time chart's, throughput.png sets its own; title1
# (workload, size and every non-default setting), title2 (machine), footer
# (provenance). Rerun by hand inside a results folder with
#   gnuplot -e "term='svg'; nseries=4; nclusters=1" path/to/plots/bars.gp > chart.svg
#
# Slide rules: 1600x900 with large fonts, y axis from zero, every error bar
# explained on the chart, noenhanced text so that names with underscores or
# carets are printed as written.

if (!exists("nseries")) nseries = 1
if (!exists("nclusters")) nclusters = 1
if (!exists("runs")) runs = 0
if (!exists("unit")) unit = "s"
if (!exists("valuefmt")) valuefmt = "%.2f"
if (!exists("title1")) title1 = "gil-lab"
if (!exists("title2")) title2 = ""
if (!exists("footer")) footer = ""
if (!exists("term")) term = "png"
if (!exists("data")) data = "chart.dat"
if (!exists("ylabel")) ylabel = sprintf("wall time (%s), lower is better", unit)
if (!exists("note")) note = (runs > 0 ? sprintf("bars: median of %d runs", runs) \
                                      : "bars: median of each row's runs") . "; error bars: min–max"

set termoption noenhanced
set encoding utf8
set title title1 . (strlen(title2) > 0 ? "\n" . title2 : "")
set ylabel ylabel
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set xrange [-1:nclusters * (nseries + 1) - 1]
set xtics scale 0 nomirror
if (nclusters > 4) set xtics rotate by -20
set ytics nomirror
set grid ytics lc rgb "#d0d0d0"
set border 3
set style fill solid 0.9 border rgb "#333333"
set boxwidth 0.9
set key at screen 0.5, screen 0.13 center center horizontal reverse Left noautotitle samplen 1.5
set bmargin 7
set label 1 note at screen 0.01, screen 0.03 left font ",16" noenhanced
set label 2 footer at screen 0.99, screen 0.03 right font ",14" tc rgb "#666666" noenhanced

# Okabe-Ito, distinguishable with every common colour-vision deficiency.
set linetype 1 lc rgb "#0072B2"
set linetype 2 lc rgb "#E69F00"
set linetype 3 lc rgb "#009E73"
set linetype 4 lc rgb "#D55E00"
set linetype 5 lc rgb "#CC79A7"
set linetype 6 lc rgb "#56B4E9"
set linetype 7 lc rgb "#F0E442"
set linetype 8 lc rgb "#000000"
set linetype cycle 8

# Value labels only while they fit above their bars.
labels = nseries * nclusters <= 16

if (term eq "svg") {
    set terminal svg size 1600,900 font "sans,22" noenhanced background rgb "white"
} else {
    set terminal pngcairo size 1600,900 font "sans,22" noenhanced background rgb "white"
}
set output
plot for [i=0:nseries-1] data index i using 1:2 with boxes lt (i + 1) title columnheader(1), \
     for [i=0:nseries-1] data index i using 1:3:(0):($4 - $3) with vectors heads size 0.12,90 \
         lc rgb "black" lw 2 notitle, \
     for [i=0:nseries-1] data index i using 1:($4 * labels):(labels ? sprintf(valuefmt, $2) : "") \
         with labels offset 0, 0.9 font ",18" notitle, \
     data index nseries using 1:(NaN):xtic(2) notitle
