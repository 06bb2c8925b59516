# plots/heap.gp: the pymalloc heap map of `gil-lab heap --picture`. The
# build embeds this file in the gil-lab binary (plots/heapmap.c), which
# feeds it to gnuplot on standard input, once, for a PNG or an SVG.
#
# Input: the prelude plots/heapmap.c writes in front of this script:
#
#   npanels, npools, nrows, height    panels (steps of the story), pool
#                                     columns, arena rows, picture height
#   title1, note, footer              heading, legend line, provenance
#   caption[1..npanels]               each panel's step and counts
#   $map                              one index per panel: a regular grid,
#                                     "pool arena value" per line, a blank
#                                     line after each arena row
#   term                              'png' or 'svg'
#
# value: blocks in use / blocks per pool (0 for an empty pool), -0.2 for a
# pool never used, NaN where no arena is mapped (drawn blank).
#
# Output: the picture, on standard output (a file gil-lab created).
#
# Slide rules: 1600 wide with large fonts, arena 0 on top as in the text
# map, the colour scale and every colour explained on the picture,
# noenhanced text so that names are printed as written.

if (!exists("npanels")) npanels = 1
if (!exists("npools")) npools = 64
if (!exists("nrows")) nrows = 2
if (!exists("height")) height = 900
if (!exists("title1")) title1 = "pymalloc heap"
if (!exists("note")) note = ""
if (!exists("footer")) footer = ""
if (!exists("term")) term = "png"

if (term eq "svg") {
    set terminal svg size 1600,height font "sans,18" noenhanced background rgb "white"
} else {
    set terminal pngcairo size 1600,height font "sans,18" noenhanced background rgb "white"
}
set output
set termoption noenhanced
set encoding utf8

# Grey for a pool never used, then light (empty) to dark blue (full).
set palette defined (-0.2 "#d9d9d9", -0.0001 "#d9d9d9", 0 "#eff3ff", 0.5 "#6baed6", 1 "#08306b")
set cbrange [-0.2:1]
set cbtics ("never used" -0.2, "0%%" 0, "25%%" 0.25, "50%%" 0.5, "75%%" 0.75, "100%%" 1) \
    font ",14"
set xrange [-0.5:npools - 0.5]
set yrange [nrows - 0.5:-0.5]
# About eight numbered tics along each axis, at powers of two.
xstep = npools > 16 ? 2**floor(log(npools / 8.0) / log(2)) : 1
ystep = nrows > 16 ? 2**floor(log(nrows / 8.0) / log(2)) : 1
set xtics xstep font ",14" nomirror out
set ytics ystep font ",14" nomirror out
set ylabel "arena" font ",14"
set border 15 lw 0.5
set tics scale 0.5

# Panels share the left and right edges; the colour box stands beside them.
# Only the last panel numbers its pools: the captions need the room.
top = 1.0 - 110.0 / height
bottom = 150.0 / height
set multiplot layout npanels, 1 title title1 font ",22" \
    margins 0.07, 0.86, bottom, top spacing 0, 60.0 / height
set label 1 note at screen 0.01, screen 52.0 / height left font ",13"
set label 2 footer at screen 0.01, screen 22.0 / height left font ",12" tc rgb "#666666"
set format x ""
do for [i = 1:npanels] {
    set title caption[i] font ",15"
    if (i == 1) {
        set colorbox user origin screen 0.89, screen bottom size screen 0.015, screen top - bottom
        set cblabel "blocks in use per pool" font ",14"
    } else {
        unset colorbox
        unset label 1
        unset label 2
    }
    if (i == npanels) {
        set format x "%g"
        set xlabel "pool" font ",14" offset 0, 0.5
    }
    plot $map index (i - 1) using 1:2:3 with image notitle
}
unset multiplot
