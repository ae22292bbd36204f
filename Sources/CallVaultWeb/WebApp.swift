// `callvault serve`: the web app over one opened store (issue 10). Routes are thin: every role check and
// every audit event lives in the CallVault use cases, as for the CLI.
import CallVault
import CallVaultCore
import Hummingbird
import Logging

public enum WebApp {
    /// The router of the app for `vault` (opened as the service user; each request acts for its own user).
    public static func router(vault: Vault) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        return router
    }
}
