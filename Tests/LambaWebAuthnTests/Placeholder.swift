import LambaWebAuthn
import Testing
