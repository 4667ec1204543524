import Metrics

/// The receiver's counters, through swift-metrics (the executable exports them on `/metrics`):
/// lines and bytes accepted, lines quarantined, bodies acknowledged again as retries, and requests
/// refused by HTTP status. The spool's size is a gauge read from the database at scrape time.
enum IngestMetrics {
    /// Counts what `reply` did.
    static func record(_ reply: IngestReply) {
        guard reply.status / 100 == 2 else {
            Counter(label: "orchestrator_ingest_requests_refused_total", dimensions: [("status", String(reply.status))]).increment()
            return
        }
        if reply.repeated {
            Counter(label: "orchestrator_ingest_bodies_repeated_total").increment()
            return
        }
        Counter(label: "orchestrator_ingest_lines_accepted_total").increment(by: Int64(reply.acceptedLines))
        Counter(label: "orchestrator_ingest_bytes_accepted_total").increment(by: Int64(reply.acceptedBytes))
        Counter(label: "orchestrator_ingest_lines_quarantined_total").increment(by: Int64(reply.quarantinedLines))
    }
}
