import LambaOAuth

/// Every sentence a person reads on the hosted pages, in each language they are written in
/// (docs/hosted-pages.md#languages). One instance per `HostedPageLanguage`: a string added here
/// must be given in every language, or the table does not compile. Values are plain text; the
/// pages escape them (and what is put into them) where they are used.
struct HostedPageStrings: Sendable {
    /// The language of the page being rendered, chosen once per request (`HostedPageLanguageMiddleware`,
    /// and from the form's authorization request on a POST): a task-local, as the request is.
    @TaskLocal static var current: HostedPageStrings = .english

    let language: HostedPageLanguage
    // MARK: Shared
    let email: String
    let password: String
    let name: String
    let signedInAs: @Sendable (String) -> String
    let signedInAsIn: @Sendable (String, String) -> String
    let notYou: String
    let or: String
    let closeWindow: String
    // MARK: Sign in
    let signInTitle: String
    let signInHeading: @Sendable (String) -> String
    let continueTo: @Sendable (String) -> String
    let signInButton: String
    let forgotPassword: String
    let continueWith: @Sendable (String) -> String
    let newHere: String
    let createAccountLink: String
    let passkeySignIn: String
    let passkeyUnsupported: String
    let passkeyFailed: String
    // MARK: Sign up and join
    let signupTitle: String
    let signupHeading: @Sendable (String) -> String
    let choosePassword: String
    let createAccountButton: String
    /// Sign-up where passkeys are the way in: what the next page does, and its button.
    let passkeySignupNext: String
    let continueButton: String
    let passkeySignupTitle: String
    let passkeySignupText: @Sendable (String, String) -> String
    let passkeyCreateButton: String
    let useAnotherEmail: String
    let haveAccount: String
    let signInLink: String
    let joinTitle: String
    let joinHeading: @Sendable (String) -> String
    let joinExplanation: @Sendable (String) -> String
    let joinButton: @Sendable (String) -> String
    // MARK: Consent and account choice
    let consentTitle: String
    let consentHeading: @Sendable (String) -> String
    let allow: String
    let deny: String
    let scopeOpenID: String
    let scopeProfile: String
    let scopeEmail: String
    let scopeOfflineAccess: String
    let chooseAccountTitle: String
    let continueToHeading: @Sendable (String) -> String
    let continueAs: @Sendable (String) -> String
    let useAnotherAccount: String
    // MARK: Sign out
    let signOutTitle: String
    let signOutHeading: String
    let clientAsksSignOut: @Sendable (String) -> String
    let signOutEverywhere: String
    let signOutButton: String
    let signedOutTitle: String
    let signedOutHeading: String
    // MARK: Error page
    let errorTitle: String
    let errorHeading: String
    let errorAdvice: String
    let errorCode: @Sendable (String) -> String
    let errorInvalidRequest: String
    let errorUnknownClient: String
    let errorRedirectURI: String
    let errorExpired: String
    let errorUnsupported: String
    let errorScope: String
    let errorAccessDenied: String
    let errorFormExpired: String
    let errorServer: String
    let errorUnavailable: String
    let errorTooMany: String
    let errorSignInAgain: String
    let errorNotSupported: String
    let errorNotFound: String
    let errorOther: String
    // MARK: Second step
    let secondFactorTitle: String
    let secondFactorHeading: String
    let secondFactorInstructions: @Sendable (String) -> String
    let secondFactorCodeLabel: String
    let secondFactorVerify: String
    let enrolmentTitle: String
    let enrolmentInstructions: @Sendable (String) -> String
    let enrolmentQRLabel: String
    let enrolmentManualKey: String
    let enrolmentCodeLabel: String
    let enrolmentButton: String
    let recoveryCodesTitle: String
    let recoveryCodesText: String
    let recoveryCodesContinue: String
    // MARK: Passkeys
    let passkeysTitle: String
    let passkeysNone: String
    let passkeyAdded: @Sendable (String) -> String
    let passkeyLastUsed: @Sendable (String) -> String
    let passkeySynced: String
    let passkeyThisDevice: String
    let passkeyRemove: String
    let passkeysOff: @Sendable (String) -> String
    let passkeyNameLabel: String
    let passkeyNamePlaceholder: String
    let passkeyAdd: String
    let passkeysReauthenticate: String
    let passkeysSignInFirst: String
    let passkeysSignInFirstText: @Sendable (String) -> String
    // MARK: Linking a social account
    let proofTitle: String
    let proofHeading: String
    let proofText: @Sendable (String, String) -> String
    let proofPassword: @Sendable (String) -> String
    let proofButton: String
    let proofWith: @Sendable (String) -> String
    let linkedTitle: String
    let linkedHeading: String
    let linkFailedTitle: String
    let linkFailedHeading: String
    let returnToApplication: String
    // MARK: Account recovery
    let forgotTitle: String
    let forgotText: @Sendable (String) -> String
    let forgotButton: String
    let backToSignIn: String
    let checkInboxTitle: String
    let checkInboxText: @Sendable (String) -> String
    let resetTitle: String
    let resetText: @Sendable (String) -> String
    let resetPasswordLabel: String
    let resetButton: String
    let resetInvalidPassword: @Sendable (String) -> String
    let passwordChangedTitle: String
    let passwordChangedHeading: String
    let passwordChangedText: @Sendable (String) -> String
    let verifyTitle: String
    let forYourAccount: @Sendable (String) -> String
    let verifyButton: String
    let verifiedTitle: String
    let verifiedText: @Sendable (String, String) -> String
    let deadLinkTitle: String
    let deadLinkHeading: String
    let deadLinkText: String
    let deadLinkAgain: String
    // MARK: Console invite
    let inviteTitle: String
    let inviteText: String
    let inviteName: String
    let inviteButton: String
    let inviteFormExpired: String
    let inviteAcceptedTitle: String
    let inviteTeam: String
    let inviteConsoleSignIn: String
    let inviteProject: String

    static func of(_ language: HostedPageLanguage) -> HostedPageStrings {
        switch language {
        case .english: english
        case .german: german
        }
    }

    static let english = HostedPageStrings(
        language: .english,
        email: "Email",
        password: "Password",
        name: "Name",
        signedInAs: { "Signed in as \($0)" },
        signedInAsIn: { "Signed in as \($0) in \($1)" },
        notYou: "Not you?",
        or: "or",
        closeWindow: "You can close this window.",
        signInTitle: "Sign in",
        signInHeading: { "Sign in to \($0)" },
        continueTo: { "to continue to \($0)" },
        signInButton: "Sign in",
        forgotPassword: "Forgot password?",
        continueWith: { "Continue with \($0)" },
        newHere: "New here?",
        createAccountLink: "Create an account",
        passkeySignIn: "Sign in with a passkey",
        passkeyUnsupported: "This browser cannot use passkeys.",
        passkeyFailed: "The passkey was not used. Try again, or use another way.",
        signupTitle: "Create an account",
        signupHeading: { "Join \($0)" },
        choosePassword: "Password (at least 10 characters)",
        createAccountButton: "Create account",
        passkeySignupNext: "Next, your device makes a passkey for this account: it signs you in with your screen lock, without a password.",
        continueButton: "Continue",
        passkeySignupTitle: "Create your passkey",
        passkeySignupText: { project, email in
            "Your \(project) account will be \(email). Your device keeps its passkey and unlocks it with its screen lock: there is no password to remember."
        },
        passkeyCreateButton: "Create a passkey",
        useAnotherEmail: "Use another email",
        haveAccount: "Have an account?",
        signInLink: "Sign in",
        joinTitle: "Join",
        joinHeading: { "Join \($0)?" },
        joinExplanation: { "\($0) needs you to be a member of this project." },
        joinButton: { "Join \($0)" },
        consentTitle: "Allow access",
        consentHeading: { "\($0) wants to access your account" },
        allow: "Allow",
        deny: "Deny",
        scopeOpenID: "Know who you are",
        scopeProfile: "Your name",
        scopeEmail: "Your email address",
        scopeOfflineAccess: "Stay signed in (refresh tokens)",
        chooseAccountTitle: "Choose an account",
        continueToHeading: { "Continue to \($0)" },
        continueAs: { "Continue as \($0)" },
        useAnotherAccount: "Use another account",
        signOutTitle: "Sign out",
        signOutHeading: "Sign out?",
        clientAsksSignOut: { "\($0) asks you to sign out." },
        signOutEverywhere: "You are about to sign out of every project of this workspace.",
        signOutButton: "Sign out",
        signedOutTitle: "Signed out",
        signedOutHeading: "You are signed out",
        errorTitle: "Sign-in error",
        errorHeading: "This sign-in request cannot continue",
        errorAdvice: "Go back to the application and start again.",
        errorCode: { "Error code: \($0)" },
        errorInvalidRequest: "The application sent a sign-in request that is incomplete or not valid.",
        errorUnknownClient: "The application that sent you here is not known to this sign-in service, or may not sign people in this way.",
        errorRedirectURI: "The application asked to send you back to an address it has not registered, so you are not sent anywhere.",
        errorExpired: "This sign-in has expired or was used already.",
        errorUnsupported: "The application asked for a kind of sign-in that this service does not offer.",
        errorScope: "The application asked for access that this service does not grant.",
        errorAccessDenied: "Access was refused.",
        errorFormExpired: "The form expired before it was sent. Go back, reload the page and try again.",
        errorServer: "Something went wrong on our side. Please try again in a moment.",
        errorUnavailable: "The sign-in service is busy right now. Please try again in a moment.",
        errorTooMany: "There were too many attempts. Wait a moment, then try again.",
        errorSignInAgain: "You need to sign in again to continue.",
        errorNotSupported: "The application used a feature that this sign-in service does not support.",
        errorNotFound: "This page does not exist, or the project is no longer available.",
        errorOther: "This sign-in request could not be completed.",
        secondFactorTitle: "Two-step verification",
        secondFactorHeading: "Enter your code",
        secondFactorInstructions: { "Open your authenticator app and type the 6-digit code for \($0). Lost the app? Type one of your recovery codes instead." },
        secondFactorCodeLabel: "Code from your authenticator app, or a recovery code",
        secondFactorVerify: "Verify",
        enrolmentTitle: "Set up two-step verification",
        enrolmentInstructions: { "\($0) asks for a second step at sign-in. Scan this code with an authenticator app (such as 1Password, Google Authenticator or Aegis), then type the code it shows." },
        enrolmentQRLabel: "QR code holding the secret for your authenticator app",
        enrolmentManualKey: "Can't scan? Enter this key by hand:",
        enrolmentCodeLabel: "The 6-digit code the app shows",
        enrolmentButton: "Turn on two-step verification",
        recoveryCodesTitle: "Save your recovery codes",
        recoveryCodesText: "Two-step verification is on. If you lose your authenticator app, each of these codes signs you in once. Keep them somewhere safe: this is the only time they are shown.",
        recoveryCodesContinue: "I have saved them, continue",
        passkeysTitle: "Your passkeys",
        passkeysNone: "You have no passkey yet. A passkey signs you in with your device's screen lock, without a password.",
        passkeyAdded: { "added \($0)" },
        passkeyLastUsed: { ", last used \($0)" },
        passkeySynced: ", synced",
        passkeyThisDevice: ", this device only",
        passkeyRemove: "Remove",
        passkeysOff: { "Passkey sign-in is not turned on for \($0)." },
        passkeyNameLabel: "Name of the new passkey (optional)",
        passkeyNamePlaceholder: "My laptop",
        passkeyAdd: "Add a passkey",
        passkeysReauthenticate: "To add or remove a passkey, sign in again: your last sign-in was more than 10 minutes ago.",
        passkeysSignInFirst: "Sign in first",
        passkeysSignInFirstText: { "To manage your passkeys for \($0), sign in to the application, then open this page again." },
        proofTitle: "Link your account",
        proofHeading: "Is this your account?",
        proofText: { "An account with \($0) exists already. To link \($1) to it, prove it is yours first." },
        proofPassword: { "Password of \($0)" },
        proofButton: "Link and sign in",
        proofWith: { "Prove it with \($0)" },
        linkedTitle: "Account linked",
        linkedHeading: "Linked",
        linkFailedTitle: "Link failed",
        linkFailedHeading: "The link could not be made",
        returnToApplication: "You can close this window and return to the application.",
        forgotTitle: "Reset your password",
        forgotText: { "Enter the email of your \($0) account. If it has one, we send it a link to choose a new password." },
        forgotButton: "Send the link",
        backToSignIn: "Back to sign in",
        checkInboxTitle: "Check your inbox",
        checkInboxText: { "If that address has a \($0) account, a link to choose a new password is on its way. It works once, for 30 minutes." },
        resetTitle: "Choose a new password",
        resetText: { "for your \($0) account. Every device signed in with the old one is signed out." },
        resetPasswordLabel: "New password (at least 10 characters)",
        resetButton: "Set the password",
        resetInvalidPassword: { "The password \($0)." },
        passwordChangedTitle: "Password changed",
        passwordChangedHeading: "Your password was changed",
        passwordChangedText: { "Go back to \($0) and sign in with the new password." },
        verifyTitle: "Confirm your email",
        forYourAccount: { "for your \($0) account." },
        verifyButton: "Confirm",
        verifiedTitle: "Email confirmed",
        verifiedText: { "\($0) is confirmed for \($1). You can close this window." },
        deadLinkTitle: "Link expired",
        deadLinkHeading: "This link cannot be used",
        deadLinkText: "It was used already, has expired, or was replaced by a newer one.",
        deadLinkAgain: "Ask for a new link",
        inviteTitle: "Accept your invite",
        inviteText: "Sign in with the account of the invited email, or create one with a name and a password.",
        inviteName: "Your name (only for a new account)",
        inviteButton: "Accept the invite",
        inviteFormExpired: "The form expired; try again.",
        inviteAcceptedTitle: "Invite accepted",
        inviteTeam: "You are on the team now.",
        inviteConsoleSignIn: "Sign in to the console",
        inviteProject: "You are a member of the project now. Go back to its application and sign in."
    )

    static let german = HostedPageStrings(
        language: .german,
        email: "E-Mail-Adresse",
        password: "Passwort",
        name: "Name",
        signedInAs: { "Angemeldet als \($0)" },
        signedInAsIn: { "Angemeldet als \($0) bei \($1)" },
        notYou: "Nicht Sie?",
        or: "oder",
        closeWindow: "Sie können dieses Fenster schließen.",
        signInTitle: "Anmelden",
        signInHeading: { "Bei \($0) anmelden" },
        continueTo: { "um mit \($0) fortzufahren" },
        signInButton: "Anmelden",
        forgotPassword: "Passwort vergessen?",
        continueWith: { "Weiter mit \($0)" },
        newHere: "Neu hier?",
        createAccountLink: "Konto erstellen",
        passkeySignIn: "Mit einem Passkey anmelden",
        passkeyUnsupported: "Dieser Browser kann keine Passkeys verwenden.",
        passkeyFailed: "Der Passkey wurde nicht verwendet. Versuchen Sie es erneut oder wählen Sie einen anderen Weg.",
        signupTitle: "Konto erstellen",
        signupHeading: { "\($0) beitreten" },
        choosePassword: "Passwort (mindestens 10 Zeichen)",
        createAccountButton: "Konto erstellen",
        passkeySignupNext: "Als Nächstes erstellt Ihr Gerät einen Passkey für dieses Konto: Er meldet Sie mit Ihrer Bildschirmsperre an, ohne Passwort.",
        continueButton: "Weiter",
        passkeySignupTitle: "Passkey erstellen",
        passkeySignupText: { project, email in
            "Ihr \(project)-Konto wird \(email) sein. Ihr Gerät bewahrt den Passkey auf und entsperrt ihn mit der Bildschirmsperre: Sie müssen sich kein Passwort merken."
        },
        passkeyCreateButton: "Passkey erstellen",
        useAnotherEmail: "Eine andere E-Mail-Adresse verwenden",
        haveAccount: "Sie haben schon ein Konto?",
        signInLink: "Anmelden",
        joinTitle: "Beitreten",
        joinHeading: { "\($0) beitreten?" },
        joinExplanation: { "\($0) setzt voraus, dass Sie Mitglied dieses Projekts sind." },
        joinButton: { "\($0) beitreten" },
        consentTitle: "Zugriff erlauben",
        consentHeading: { "\($0) möchte auf Ihr Konto zugreifen" },
        allow: "Erlauben",
        deny: "Ablehnen",
        scopeOpenID: "Wissen, wer Sie sind",
        scopeProfile: "Ihren Namen",
        scopeEmail: "Ihre E-Mail-Adresse",
        scopeOfflineAccess: "Angemeldet bleiben (Refresh-Tokens)",
        chooseAccountTitle: "Konto wählen",
        continueToHeading: { "Weiter zu \($0)" },
        continueAs: { "Weiter als \($0)" },
        useAnotherAccount: "Anderes Konto verwenden",
        signOutTitle: "Abmelden",
        signOutHeading: "Abmelden?",
        clientAsksSignOut: { "\($0) bittet Sie, sich abzumelden." },
        signOutEverywhere: "Sie melden sich gleich von allen Projekten dieses Arbeitsbereichs ab.",
        signOutButton: "Abmelden",
        signedOutTitle: "Abgemeldet",
        signedOutHeading: "Sie sind abgemeldet",
        errorTitle: "Fehler bei der Anmeldung",
        errorHeading: "Diese Anmeldung kann nicht fortgesetzt werden",
        errorAdvice: "Kehren Sie zur Anwendung zurück und beginnen Sie erneut.",
        errorCode: { "Fehlercode: \($0)" },
        errorInvalidRequest: "Die Anwendung hat eine unvollständige oder ungültige Anmeldeanfrage gesendet.",
        errorUnknownClient: "Die Anwendung, die Sie hierher geschickt hat, ist diesem Anmeldedienst nicht bekannt oder darf auf diese Weise niemanden anmelden.",
        errorRedirectURI: "Die Anwendung wollte Sie an eine Adresse zurückschicken, die sie nicht registriert hat; deshalb werden Sie nirgendwohin weitergeleitet.",
        errorExpired: "Diese Anmeldung ist abgelaufen oder wurde bereits verwendet.",
        errorUnsupported: "Die Anwendung hat eine Art der Anmeldung angefordert, die dieser Dienst nicht anbietet.",
        errorScope: "Die Anwendung hat einen Zugriff angefordert, den dieser Dienst nicht gewährt.",
        errorAccessDenied: "Der Zugriff wurde verweigert.",
        errorFormExpired: "Das Formular ist abgelaufen, bevor es gesendet wurde. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.",
        errorServer: "Bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es gleich noch einmal.",
        errorUnavailable: "Der Anmeldedienst ist gerade ausgelastet. Bitte versuchen Sie es gleich noch einmal.",
        errorTooMany: "Es gab zu viele Versuche. Warten Sie einen Moment und versuchen Sie es dann erneut.",
        errorSignInAgain: "Sie müssen sich erneut anmelden, um fortzufahren.",
        errorNotSupported: "Die Anwendung hat eine Funktion verwendet, die dieser Anmeldedienst nicht unterstützt.",
        errorNotFound: "Diese Seite gibt es nicht, oder das Projekt ist nicht mehr verfügbar.",
        errorOther: "Diese Anmeldung konnte nicht abgeschlossen werden.",
        secondFactorTitle: "Bestätigung in zwei Schritten",
        secondFactorHeading: "Code eingeben",
        secondFactorInstructions: { "Öffnen Sie Ihre Authenticator-App und geben Sie den 6-stelligen Code für \($0) ein. App verloren? Geben Sie stattdessen einen Ihrer Wiederherstellungscodes ein." },
        secondFactorCodeLabel: "Code aus Ihrer Authenticator-App oder ein Wiederherstellungscode",
        secondFactorVerify: "Bestätigen",
        enrolmentTitle: "Bestätigung in zwei Schritten einrichten",
        enrolmentInstructions: { "\($0) verlangt bei der Anmeldung einen zweiten Schritt. Scannen Sie diesen Code mit einer Authenticator-App (etwa 1Password, Google Authenticator oder Aegis) und geben Sie dann den angezeigten Code ein." },
        enrolmentQRLabel: "QR-Code mit dem Schlüssel für Ihre Authenticator-App",
        enrolmentManualKey: "Scannen klappt nicht? Geben Sie diesen Schlüssel von Hand ein:",
        enrolmentCodeLabel: "Der 6-stellige Code, den die App anzeigt",
        enrolmentButton: "Bestätigung in zwei Schritten einschalten",
        recoveryCodesTitle: "Speichern Sie Ihre Wiederherstellungscodes",
        recoveryCodesText: "Die Bestätigung in zwei Schritten ist eingeschaltet. Wenn Sie Ihre Authenticator-App verlieren, meldet Sie jeder dieser Codes einmal an. Bewahren Sie sie sicher auf: Sie werden nur dieses eine Mal angezeigt.",
        recoveryCodesContinue: "Gespeichert, weiter",
        passkeysTitle: "Ihre Passkeys",
        passkeysNone: "Sie haben noch keinen Passkey. Ein Passkey meldet Sie mit der Bildschirmsperre Ihres Geräts an, ohne Passwort.",
        passkeyAdded: { "hinzugefügt am \($0)" },
        passkeyLastUsed: { ", zuletzt verwendet am \($0)" },
        passkeySynced: ", synchronisiert",
        passkeyThisDevice: ", nur auf diesem Gerät",
        passkeyRemove: "Entfernen",
        passkeysOff: { "Die Anmeldung mit Passkeys ist für \($0) nicht eingeschaltet." },
        passkeyNameLabel: "Name des neuen Passkeys (optional)",
        passkeyNamePlaceholder: "Mein Laptop",
        passkeyAdd: "Passkey hinzufügen",
        passkeysReauthenticate: "Um einen Passkey hinzuzufügen oder zu entfernen, melden Sie sich erneut an: Ihre letzte Anmeldung ist mehr als 10 Minuten her.",
        passkeysSignInFirst: "Melden Sie sich zuerst an",
        passkeysSignInFirstText: { "Um Ihre Passkeys für \($0) zu verwalten, melden Sie sich in der Anwendung an und öffnen Sie diese Seite dann erneut." },
        proofTitle: "Konto verknüpfen",
        proofHeading: "Ist das Ihr Konto?",
        proofText: { "Es gibt bereits ein Konto mit \($0). Um \($1) damit zu verknüpfen, weisen Sie zuerst nach, dass es Ihres ist." },
        proofPassword: { "Passwort von \($0)" },
        proofButton: "Verknüpfen und anmelden",
        proofWith: { "Mit \($0) nachweisen" },
        linkedTitle: "Konto verknüpft",
        linkedHeading: "Verknüpft",
        linkFailedTitle: "Verknüpfung fehlgeschlagen",
        linkFailedHeading: "Die Verknüpfung konnte nicht hergestellt werden",
        returnToApplication: "Sie können dieses Fenster schließen und zur Anwendung zurückkehren.",
        forgotTitle: "Passwort zurücksetzen",
        forgotText: { "Geben Sie die E-Mail-Adresse Ihres Kontos bei \($0) ein. Gibt es dazu ein Konto, senden wir einen Link, mit dem Sie ein neues Passwort wählen." },
        forgotButton: "Link senden",
        backToSignIn: "Zurück zur Anmeldung",
        checkInboxTitle: "Sehen Sie in Ihren Posteingang",
        checkInboxText: { "Wenn es zu dieser Adresse ein Konto bei \($0) gibt, ist ein Link zum Wählen eines neuen Passworts unterwegs. Er funktioniert einmal, 30 Minuten lang." },
        resetTitle: "Neues Passwort wählen",
        resetText: { "für Ihr Konto bei \($0). Jedes Gerät, das mit dem alten angemeldet ist, wird abgemeldet." },
        resetPasswordLabel: "Neues Passwort (mindestens 10 Zeichen)",
        resetButton: "Passwort festlegen",
        resetInvalidPassword: { "Das Passwort ist nicht zulässig (\($0))." },
        passwordChangedTitle: "Passwort geändert",
        passwordChangedHeading: "Ihr Passwort wurde geändert",
        passwordChangedText: { "Kehren Sie zu \($0) zurück und melden Sie sich mit dem neuen Passwort an." },
        verifyTitle: "E-Mail-Adresse bestätigen",
        forYourAccount: { "für Ihr Konto bei \($0)." },
        verifyButton: "Bestätigen",
        verifiedTitle: "E-Mail-Adresse bestätigt",
        verifiedText: { "\($0) ist für \($1) bestätigt. Sie können dieses Fenster schließen." },
        deadLinkTitle: "Link abgelaufen",
        deadLinkHeading: "Dieser Link kann nicht verwendet werden",
        deadLinkText: "Er wurde bereits verwendet, ist abgelaufen oder wurde durch einen neueren ersetzt.",
        deadLinkAgain: "Neuen Link anfordern",
        inviteTitle: "Einladung annehmen",
        inviteText: "Melden Sie sich mit dem Konto der eingeladenen E-Mail-Adresse an oder erstellen Sie eines mit Namen und Passwort.",
        inviteName: "Ihr Name (nur für ein neues Konto)",
        inviteButton: "Einladung annehmen",
        inviteFormExpired: "Das Formular ist abgelaufen; versuchen Sie es erneut.",
        inviteAcceptedTitle: "Einladung angenommen",
        inviteTeam: "Sie gehören jetzt zum Team.",
        inviteConsoleSignIn: "Bei der Konsole anmelden",
        inviteProject: "Sie sind jetzt Mitglied des Projekts. Kehren Sie zu seiner Anwendung zurück und melden Sie sich an."
    )
}

extension HostedPageStrings {
    /// A form's message comes from the domain, in English (`HostedInteraction.Result.failed`); the
    /// known ones are said in the page's language, any other as it is.
    func say(_ message: String) -> String {
        switch language {
        case .english: message
        case .german: Self.germanMessages[message] ?? message
        }
    }

    static let germanMessages: [String: String] = [
        "email or password is wrong": "E-Mail-Adresse oder Passwort ist falsch",
        "the form expired; go back and try again": "Das Formular ist abgelaufen; gehen Sie zurück und versuchen Sie es erneut",
        "password sign-in is not enabled for this project": "Die Anmeldung mit Passwort ist für dieses Projekt nicht eingeschaltet",
        "passkey sign-in is not enabled for this project": "Die Anmeldung mit Passkeys ist für dieses Projekt nicht eingeschaltet",
        "type the code your authenticator app shows": "Geben Sie den Code ein, den Ihre Authenticator-App anzeigt",
        "that code is not right; codes change every 30 seconds": "Dieser Code stimmt nicht; die Codes wechseln alle 30 Sekunden",
        "choose to add or remove a passkey": "Wählen Sie, ob Sie einen Passkey hinzufügen oder entfernen möchten",
        "Passkey added.": "Passkey hinzugefügt.",
        "Passkey removed.": "Passkey entfernt.",
    ]
}
