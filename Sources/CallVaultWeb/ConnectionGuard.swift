// What keeps the server up against clients that hold connections without using them (slowloris): a
// deadline for each request's head, an idle limit between keep-alive requests, and a cap on the connections
// one client address holds. It sits in each connection's pipeline, after HTTP decoding.
import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// The limits, from `[web]` (seconds and a count).
struct ConnectionLimits: Sendable {
    /// From the connection's start (or the end of the previous response) to a complete request head. A
    /// browser sends its head at once; a client that trickles it is dropped however much it has sent.
    var headTimeout: TimeAmount = .seconds(10)
    /// A kept-alive connection waiting for its next request is closed after this long.
    var keepAliveTimeout: TimeAmount = .seconds(30)
    /// Connections at once from one client address; the next are closed at once.
    var perClient = 128
}

/// Connections open per client address, shared by every connection's handler.
final class ConnectionCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var byAddress: [String: Int] = [:]

    /// Counts a new connection of `address`; false (not counted) when the address holds `limit` already.
    func admit(_ address: String, limit: Int) -> Bool {
        lock.withLock {
            let n = byAddress[address, default: 0]
            guard n < limit else { return false }
            byAddress[address] = n + 1
            return true
        }
    }

    func release(_ address: String) {
        lock.withLock {
            let n = byAddress[address, default: 1] - 1
            byAddress[address] = n > 0 ? n : nil
        }
    }
}

/// One per connection. Arms a timer while the connection waits for a request head and closes the connection
/// when it fires; a request being answered (head received, response not yet ended) is never timed out, so
/// long downloads and bundles go on.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let limits: ConnectionLimits
    let counts: ConnectionCounts
    private var address: String?
    private var deadline: Scheduled<Void>?

    init(limits: ConnectionLimits, counts: ConnectionCounts) {
        self.limits = limits
        self.counts = counts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Added to an active channel (the child channel is set up after accept).
        if context.channel.isActive { admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if address == nil { admit(context: context) }
        context.fireChannelActive()
    }

    private func admit(context: ChannelHandlerContext) {
        let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard counts.admit(peer, limit: limits.perClient) else {
            context.close(promise: nil)
            return
        }
        address = peer
        arm(context: context, after: limits.headTimeout)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // The answer is complete: the connection now waits for the next request, or is closed.
            arm(context: context, after: limits.keepAliveTimeout)
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if let address { counts.release(address) }
        address = nil
        context.fireChannelInactive()
    }

    private func arm(context: ChannelHandlerContext, after timeout: TimeAmount) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }
}
