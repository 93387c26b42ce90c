/// The release this build is, as `lamba --version` and `GET /` report it.
public enum LambaVersion {
    public static let current = "0.16.0"
}
