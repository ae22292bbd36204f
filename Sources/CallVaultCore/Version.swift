// The version of callvault, printed by `callvault --version`; raise it with each release.
public enum CallVaultVersion {
    /// Semantic version of this build of the vault.
    public static let current = "0.9.0"
}
