/// The fault, if any, injected into one request.
enum InjectedFault: Equatable {
    /// HTTP 500 with an error body.
    case httpServerError
    /// HTTP 200 with `InternalError`.
    case internalError
    /// HTTP 200 with `RequestLimitExceeded`.
    case throttled
    /// The body stops after about half its announced length.
    case truncated
    /// One byte of the body is flipped.
    case corrupted
    /// The body comes a few bytes per second (a `SimulatedOutage.Kind.trickle` under way).
    case trickled

    /// The fault for the API call with ordinal `ordinal`: a deterministic draw from the seed and the ordinal,
    /// so a retried call (a later ordinal) draws again.
    static func forAPICall(_ ordinal: Int, configuration: CDNSimulatorConfiguration) -> InjectedFault? {
        let draw = stableUnit("api-fault", String(configuration.seed), String(ordinal))
        if draw < configuration.apiErrorRate {
            return stableUnit("api-fault-kind", String(configuration.seed), String(ordinal)) < 0.5
                ? .httpServerError : .internalError
        }
        if draw < configuration.apiErrorRate + configuration.throttleRate { return .throttled }
        return nil
    }

    /// The fault for the download with ordinal `ordinal`, drawn like `forAPICall`.
    static func forDownload(_ ordinal: Int, configuration: CDNSimulatorConfiguration) -> InjectedFault? {
        let draw = stableUnit("download-fault", String(configuration.seed), String(ordinal))
        if draw < configuration.truncateRate { return .truncated }
        if draw < configuration.truncateRate + configuration.corruptRate { return .corrupted }
        return nil
    }
}
