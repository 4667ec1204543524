import Foundation

/// Log lines in the shape a CDN log-streaming sender posts (Lumen/CenturyLink field names, about 590
/// bytes), with the JSON escapes senders send (`\u0026`, `\u003c`, `\u2028`) kept as text: the one
/// generator of the ingest tests, the crash test and `orchestrator-bench ingest`.
public enum SenderLog {
    /// A line at `date` (`YYYY-MM-DD`) and `time` (`HH:MM:SS` or `HH:MM:SS:mmm`). `uri`, `clientIP` and
    /// `bytes` vary it; `extra` is appended inside the object (start it with a comma).
    public static func line(
        date: String = "2026-11-01", time: String = "09:27:10", uri: String = "/index.html?a=1\\u0026b=2", clientIP: String = "203.0.113.7",
        bytes: Int = 5120, extra: String = ""
    ) -> String {
        #"{"date":"\#(date)","time":"\#(time)","cs-ip":"\#(clientIP)","cs-method":"get","cs-uri":"\#(uri)","status":200,"sc-bytes":\#(bytes),"time-taken":0.012,"cs(Referer)":"https://www.example.com/\u003cpage\u003e","cs(User-Agent)":"Mozilla/5.0 (X11; Linux x86_64) \u2028 AppleWebKit/537.36","cs(Cookie)":"-","x-disid":12345,"x-headersize":312,"cached":1,"cs(Range)":"-","x-tcwait":0.001,"x-tdwait":0.002,"x-tcpinfo_rtt":1200,"x-tcpinfo_rttvar":300,"x-tcpinfo_snd_cwnd":10,"x-tcpinfo_rcv_space":14600,"sc(Content-Type)":"text/html","cs-version":"HTTP/1.1"\#(extra)}"#
    }

    /// A line at `instant` (UTC, with milliseconds) whose `cs-uri` carries `id`, which `id(of:)` reads back.
    public static func line(at instant: Date, id: String) -> String {
        let seconds = Int(instant.timeIntervalSince1970.rounded(.down))
        let milliseconds = Int((instant.timeIntervalSince1970 - Double(seconds)) * 1000)
        let (date, time) = civil(seconds)
        return line(date: date, time: time + String(format: ":%03d", milliseconds), uri: "/p?id=\(id)\\u0026x=1")
    }

    /// The id `line(at:id:)` put in `line`, or nil.
    public static func id(of line: some StringProtocol) -> String? {
        guard let start = line.range(of: "id=")?.upperBound, let end = line[start...].range(of: "\\u0026")?.lowerBound else { return nil }
        return String(line[start..<end])
    }

    /// `YYYY-MM-DD` and `HH:MM:SS` of Unix `seconds` in UTC.
    public static func civil(_ seconds: Int) -> (date: String, time: String) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let second = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (
            String(format: "%04d-%02d-%02d", year, month, day),
            String(format: "%02d:%02d:%02d", second / 3600, second % 3600 / 60, second % 60)
        )
    }
}
