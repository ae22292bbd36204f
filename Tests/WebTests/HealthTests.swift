import CallVault
import CallVaultWeb
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct HealthTests {
    @Test func healthzAnswersWithoutALogin() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cv-web-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vault = try Vault.create(at: dir + "/store", tenants: ["acme"], simulation: false, actor: "root")
        let app = Application(router: WebApp.router(vault: vault))
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }
}
