import Foundation
import Testing

@testable import Jobs

/// Object keys from templates.
@Suite struct KeyTemplateTests {
    /// 2019-09-04 15:00 UTC, 23:00 in Beijing: the hour of Tencent's `2019090423-www.test.com.gz`.
    let hour = Date(timeIntervalSince1970: 1_567_609_200)
    let name = "2019090423-www.test.com.gz"

    @Test func defaultTemplateKeepsTheOriginalLayout() throws {
        let template = try KeyTemplate(KeyTemplate.defaultTemplate)
        #expect(template.key(domain: "www.test.com", hour: hour, area: "mainland", filename: name)
            == "cdnlog/www.test.com/20190904/2019090423-www.test.com.gz")
        #expect(template == (try KeyTemplate(KeyTemplate.defaultTemplate)))
    }

    /// The original functions filed a package under the day of its log path, which is the Beijing day:
    /// 16:00 UTC on 4 September is the package `2019090500-…`, filed under `20190905`.
    @Test func defaultTemplateFilesUnderTheBeijingDayOfTheLogPath() throws {
        let template = try KeyTemplate(KeyTemplate.defaultTemplate)
        let late = hour.addingTimeInterval(3600)
        #expect(template.key(domain: "www.test.com", hour: late, area: "mainland", filename: "2019090500-www.test.com.gz")
            == "cdnlog/www.test.com/20190905/2019090500-www.test.com.gz")
    }

    @Test func datePartsAreUTCAndBeijingVariantsAreBeijing() throws {
        // 16:00 UTC on 4 September is 00:00 on 5 September in Beijing.
        let late = hour.addingTimeInterval(3600)
        let utc = try KeyTemplate("{yyyy}/{mm}/{dd}/{hh}/{yyyymmdd}/{yyyymmddhh}/{filename}")
        #expect(utc.key(domain: "d", hour: late, area: "mainland", filename: "f") == "2019/09/04/16/20190904/2019090416/f")
        let beijing = try KeyTemplate("{bj_yyyy}/{bj_mm}/{bj_dd}/{bj_hh}/{bj_yyyymmdd}/{bj_yyyymmddhh}/{filename}")
        #expect(beijing.key(domain: "d", hour: late, area: "mainland", filename: "f") == "2019/09/05/00/20190905/2019090500/f")
    }

    @Test func datesCrossMonthYearAndLeapDayBoundaries() throws {
        let template = try KeyTemplate("{yyyymmddhh}/{bj_yyyymmddhh}/{filename}")
        let iso = ISO8601DateFormatter()
        let cases = [
            ("2019-12-31T16:00:00Z", "2019123116/2020010100"),
            ("2024-02-28T23:00:00Z", "2024022823/2024022907"),
            ("2024-02-29T20:00:00Z", "2024022920/2024030104"),
            ("1970-01-01T00:00:00Z", "1970010100/1970010108"),
            ("2100-02-28T20:00:00Z", "2100022820/2100030104"),
        ]
        for (instant, expected) in cases {
            let date = try #require(iso.date(from: instant))
            #expect(template.key(domain: "d", hour: date, area: "", filename: "f") == expected + "/f", "\(instant)")
        }
    }

    @Test func roundsTheHourDown() throws {
        let template = try KeyTemplate("{hh}/{filename}")
        #expect(template.key(domain: "d", hour: hour.addingTimeInterval(3599), area: "mainland", filename: "f") == "15/f")
    }

    @Test func mainlandAndOverseasPackagesOfAnHourNeverShareAKey() throws {
        let template = try KeyTemplate(KeyTemplate.defaultTemplate)
        let mainland = template.key(domain: "www.test.com", hour: hour, area: "mainland", filename: name)
        let overseas = template.key(domain: "www.test.com", hour: hour, area: "overseas", filename: name)
        #expect(overseas == "cdnlog/www.test.com/20190904/2019090423-www.test.com.overseas.gz")
        #expect(mainland != overseas)
        let withoutExtension = template.key(domain: "d", hour: hour, area: "overseas", filename: "log")
        #expect(withoutExtension == "cdnlog/d/20190904/log.overseas")
    }

    @Test func anAreaPlaceholderLeavesTheFileNameAlone() throws {
        let template = try KeyTemplate("cdnlog/{area}/{domain}/{filename}")
        #expect(template.key(domain: "d", hour: hour, area: "overseas", filename: name) == "cdnlog/overseas/d/\(name)")
        #expect(template.key(domain: "d", hour: hour, area: "mainland", filename: name) == "cdnlog/mainland/d/\(name)")
    }

    @Test func keysNeverStartWithASlashNorClimbOut() throws {
        let template = try KeyTemplate("/cdnlog/{domain}/{filename}")
        #expect(template.key(domain: "d", hour: hour, area: "mainland", filename: "f") == "cdnlog/d/f")
        #expect(template.key(domain: "..", hour: hour, area: "mainland", filename: "../x") == "cdnlog/__/.._x")
        #expect(template.key(domain: "a/../../b", hour: hour, area: "mainland", filename: "f") == "cdnlog/a_.._.._b/f")
        #expect(template.key(domain: "", hour: hour, area: "mainland", filename: ".") == "cdnlog/_")
        #expect(template.key(domain: "d\n", hour: hour, area: "mainland", filename: "f") == "cdnlog/d_/f")
    }

    @Test(arguments: [
        ("", "empty"),
        ("   ", "empty"),
        ("/", "empty"),
        ("cdnlog/{host}/{filename}", "{host}"),
        ("cdnlog/{domain/{filename}", "{domain/{filename}"),
        ("cdnlog/{domain", "without '}'"),
        ("cdnlog/domain}/{filename}", "without '{'"),
        ("cdnlog/{domain}/{yyyymmdd}", "lacks {filename}"),
        ("cdnlog/../{filename}", "'..'"),
        ("./{filename}", "'..'"),
    ])
    func rejectsInvalidTemplatesNamingTheProblem(template: String, mention: String) {
        let error = #expect(throws: TransferError.self) { try KeyTemplate(template) }
        #expect(error?.code == "config.key_template")
        #expect(error?.isRetryable == false)
        #expect(error?.message.contains(mention) == true, "\(error?.message ?? "")")
    }
}
