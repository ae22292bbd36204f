// Server-rendered SVG charts for the report: no script, no external reference, readable without colour
// (every series is also named in the legend and the table beside it).
import Foundation

enum Charts {
    static let palette = ["#1f6feb", "#e8590c", "#2f9e44", "#9c36b5", "#c2255c", "#1098ad", "#f08c00", "#5c7cfa"]

    /// Lines of shares (0…1) over labelled buckets; nil values leave a gap.
    static func lines(title: String, labels: [String], series: [(name: String, values: [Double?])], id: String) -> HTML {
        // The right margin leaves room for half of the last date label, centred on the last point.
        let w = 760.0, h = 240.0, left = 44.0, right = 24.0, top = 14.0, bottom = 34.0
        let plotW = w - left - right, plotH = h - top - bottom
        let n = max(labels.count, 1)
        func x(_ i: Int) -> Double { left + (n == 1 ? plotW / 2 : plotW * Double(i) / Double(n - 1)) }
        func y(_ v: Double) -> Double { top + plotH * (1 - min(max(v, 0), 1)) }
        var parts: [String] = []
        for t in stride(from: 0.0, through: 1.0, by: 0.25) {
            parts.append("<line x1=\"\(left)\" x2=\"\(w - right)\" y1=\"\(y(t))\" y2=\"\(y(t))\" stroke=\"#e6eaf0\"/>")
            parts.append("<text x=\"\(left - 6)\" y=\"\(y(t) + 4)\" text-anchor=\"end\">\(Int(t * 100)) %</text>")
        }
        let every = max(1, n / 8)
        for (i, l) in labels.enumerated() where i % every == 0 {
            parts.append("<text x=\"\(x(i))\" y=\"\(h - bottom + 16)\" text-anchor=\"middle\">\(HTML.escape(l))</text>")
        }
        for (k, s) in series.enumerated() {
            let colour = palette[k % palette.count]
            var segment: [String] = []
            func flush() {
                if segment.count > 1 { parts.append("<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(segment.joined(separator: " "))\"/>") }
                segment = []
            }
            for (i, v) in s.values.enumerated() {
                guard let v else { flush(); continue }
                segment.append("\(x(i)),\(y(v))")
                parts.append("<circle cx=\"\(x(i))\" cy=\"\(y(v))\" r=\"3\" fill=\"\(colour)\"><title>\(HTML.escape(s.name)) \(HTML.escape(labels[i])): \(Int((v * 100).rounded())) %</title></circle>")
            }
            flush()
        }
        return svg(title: title, id: id, width: w, height: h, body: parts, legend: series.map(\.name))
    }

    /// Grouped bars of counts per bucket.
    static func bars(title: String, labels: [String], series: [(name: String, values: [Int])], id: String) -> HTML {
        let w = 760.0, h = 240.0, left = 44.0, right = 12.0, top = 14.0, bottom = 34.0
        let plotW = w - left - right, plotH = h - top - bottom
        let (step, axisTop) = countAxis(max: series.flatMap(\.values).max() ?? 0)
        let n = max(labels.count, 1)
        let group = plotW / Double(n), bar = max(1, (group - 4) / Double(max(series.count, 1)))
        func y(_ v: Int) -> Double { top + plotH * (1 - Double(v) / Double(axisTop)) }
        var parts: [String] = []
        for v in stride(from: 0, through: axisTop, by: step) {
            parts.append("<line x1=\"\(left)\" x2=\"\(w - right)\" y1=\"\(y(v))\" y2=\"\(y(v))\" stroke=\"#e6eaf0\"/>")
            parts.append("<text x=\"\(left - 6)\" y=\"\(y(v) + 4)\" text-anchor=\"end\">\(v)</text>")
        }
        let every = max(1, n / 8)
        for (i, l) in labels.enumerated() where i % every == 0 {
            parts.append("<text x=\"\(left + group * (Double(i) + 0.5))\" y=\"\(h - bottom + 16)\" text-anchor=\"middle\">\(HTML.escape(l))</text>")
        }
        for (k, s) in series.enumerated() {
            for (i, v) in s.values.enumerated() where v > 0 {
                let bx = left + group * Double(i) + 2 + bar * Double(k)
                parts.append("<rect x=\"\(bx)\" y=\"\(y(v))\" width=\"\(bar)\" height=\"\(top + plotH - y(v))\" fill=\"\(palette[k % palette.count])\"><title>\(HTML.escape(s.name)) \(HTML.escape(labels[i])): \(v)</title></rect>")
            }
        }
        return svg(title: title, id: id, width: w, height: h, body: parts, legend: series.map(\.name))
    }

    /// The y axis of a count chart: the smallest round step (1, 2 or 5 × 10^k) that needs at most five intervals,
    /// and the first multiple of it at or above `max` as the top — so every tick is a whole number on its own line.
    static func countAxis(max maxValue: Int) -> (step: Int, top: Int) {
        let m = Swift.max(maxValue, 1)
        func intervals(_ step: Int) -> Int { m / step + (m % step == 0 ? 0 : 1) }
        var magnitude = 1, step = 1
        search: while true {
            for factor in [1, 2, 5] {
                step = factor * magnitude
                if intervals(step) <= 5 { break search }
            }
            guard magnitude <= Int.max / 100 else { break }
            magnitude *= 10
        }
        return (step, intervals(step) * step)
    }

    /// Horizontal bars of shares (0…1), one per labelled item.
    static func shares(title: String, items: [(label: String, value: Double, note: String)], id: String) -> HTML {
        let rowH = 26.0, left = 180.0, w = 760.0, right = 90.0
        let h = max(40, rowH * Double(items.count) + 10)
        var parts: [String] = []
        for (i, item) in items.enumerated() {
            let yy = 5 + rowH * Double(i)
            let bw = (w - left - right) * min(max(item.value, 0), 1)
            parts.append("<text x=\"\(left - 8)\" y=\"\(yy + 16)\" text-anchor=\"end\">\(HTML.escape(item.label))</text>")
            parts.append("<rect x=\"\(left)\" y=\"\(yy + 4)\" width=\"\(w - left - right)\" height=\"16\" fill=\"#eef1f5\"/>")
            parts.append("<rect x=\"\(left)\" y=\"\(yy + 4)\" width=\"\(bw)\" height=\"16\" fill=\"\(item.value < 0.9 ? "#e8590c" : "#2f9e44")\"/>")
            parts.append("<text x=\"\(w - right + 6)\" y=\"\(yy + 16)\">\(Int((item.value * 100).rounded())) % \(HTML.escape(item.note))</text>")
        }
        return svg(title: title, id: id, width: w, height: h, body: parts, legend: [])
    }

    static func svg(title: String, id: String, width: Double, height: Double, body: [String], legend: [String]) -> HTML {
        let legendHTML = legend.enumerated().map { k, name in
            "<span><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" rx=\"2\" fill=\"\(palette[k % palette.count])\"/></svg>\(HTML.escape(name))</span>"
        }.joined()
        return HTML(trusted: """
            <figure class="chart-figure"><svg class="chart" id="\(HTML.escape(id))" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(HTML.escape(title))" xmlns="http://www.w3.org/2000/svg">\
            <title>\(HTML.escape(title))</title>\(body.joined())</svg><figcaption class="small muted legend">\(legendHTML)</figcaption></figure>
            """)
    }
}
