<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE" sourcelanguage="en_US">
<context>
    <name>AccountState</name>
    <message>
        <source>Signed out</source>
        <translation>Abgemeldet</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>Verbindung wird hergestellt…</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>Verbunden</translation>
    </message>
    <message>
        <source>Synchronizing…</source>
        <translation>Synchronisierung läuft…</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>Angehalten</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>Offline</translation>
    </message>
    <message>
        <source>Not the synchronizing computer</source>
        <translation>Nicht der synchronisierende Computer</translation>
    </message>
    <message>
        <source>Not set up</source>
        <translation>Nicht eingerichtet</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Fehler</translation>
    </message>
</context>
<context>
    <name>Activity</name>
    <message>
        <source>{changes} in the mailbox</source>
        <translation>{changes} im Postfach</translation>
    </message>
    <message>
        <source>{changes} in Dynamics 365</source>
        <translation>{changes} in Dynamics 365</translation>
    </message>
    <message>
        <source>Synchronized: nothing to change</source>
        <translation>Synchronisiert: nichts zu ändern</translation>
    </message>
    <message>
        <source>Synchronized: {kinds}</source>
        <translation>Synchronisiert: {kinds}</translation>
    </message>
    <message>
        <source>Succeeded</source>
        <translation>Erfolgreich</translation>
    </message>
    <message>
        <source>Partly failed</source>
        <translation>Teilweise fehlgeschlagen</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>Running, or stopped unexpectedly</source>
        <translation>Läuft, oder unerwartet abgebrochen</translation>
    </message>
    <message>
        <source>Another computer synchronizes</source>
        <translation>Ein anderer Computer synchronisiert</translation>
    </message>
</context>
<context>
    <name>AddOrganizationDialog</name>
    <message>
        <source>Add a Dynamics 365 organization</source>
        <translation>Dynamics 365-Organisation hinzufügen</translation>
    </message>
    <message>
        <source>Where is your organization?</source>
        <translation>Wo befindet sich Ihre Organisation?</translation>
    </message>
    <message>
        <source>Dynamics 365 (&amp;online)</source>
        <translation>Dynamics 365 (&amp;online)</translation>
    </message>
    <message>
        <source>Microsoft cloud</source>
        <translation>Microsoft-Cloud</translation>
    </message>
    <message>
        <source>name@contoso.com</source>
        <translation>name@contoso.com</translation>
    </message>
    <message>
        <source>leave empty to sign in with a code</source>
        <translation>leer lassen, um sich mit einem Code anzumelden</translation>
    </message>
    <message>
        <source>&amp;Sign in</source>
        <translation>&amp;Anmelden</translation>
    </message>
    <message>
        <source>&amp;Cloud:</source>
        <translation>&amp;Cloud:</translation>
    </message>
    <message>
        <source>&amp;User name:</source>
        <translation>&amp;Benutzername:</translation>
    </message>
    <message>
        <source>Pass&amp;word:</source>
        <translation>&amp;Kennwort:</translation>
    </message>
    <message>
        <source>&amp;Environments you can use:</source>
        <translation>&amp;Umgebungen, die Sie verwenden können:</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Adresse</translation>
    </message>
    <message>
        <source>Region</source>
        <translation>Region</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>Version</translation>
    </message>
    <message>
        <source>Environments you can use</source>
        <translation>Umgebungen, die Sie verwenden können</translation>
    </message>
    <message>
        <source>On-&amp;premises, or enter the organization URL</source>
        <translation>Lokal (On-&amp;Premises) oder Organisations-URL eingeben</translation>
    </message>
    <message>
        <source>https://crm.contoso.local/Contoso</source>
        <translation>https://crm.contoso.local/Contoso</translation>
    </message>
    <message>
        <source>Windows account (NTLM)</source>
        <translation>Windows-Konto (NTLM)</translation>
    </message>
    <message>
        <source>Organization account (OAuth, AD FS)</source>
        <translation>Organisationskonto (OAuth, AD FS)</translation>
    </message>
    <message>
        <source>CONTOSO\anna</source>
        <translation>CONTOSO\anna</translation>
    </message>
    <message>
        <source>only for a private certificate authority</source>
        <translation>nur für eine private Zertifizierungsstelle</translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation>&amp;Durchsuchen…</translation>
    </message>
    <message>
        <source>&amp;Address:</source>
        <translation>Adr&amp;esse:</translation>
    </message>
    <message>
        <source>Sign in wit&amp;h:</source>
        <translation>Anmelden &amp;mit:</translation>
    </message>
    <message>
        <source>User na&amp;me:</source>
        <translation>Benutzer&amp;name:</translation>
    </message>
    <message>
        <source>Passwo&amp;rd:</source>
        <translation>Kenn&amp;wort:</translation>
    </message>
    <message>
        <source>Certificate au&amp;thority:</source>
        <translation>&amp;Zertifizierungsstelle:</translation>
    </message>
    <message>
        <source>Certificate authority file</source>
        <translation>Datei der Zertifizierungsstelle</translation>
    </message>
    <message>
        <source>Co&amp;nnect</source>
        <translation>&amp;Verbinden</translation>
    </message>
    <message>
        <source>Certificate authority</source>
        <translation>Zertifizierungsstelle</translation>
    </message>
    <message>
        <source>Certificates (*.pem *.crt *.cer);;All files (*)</source>
        <translation>Zertifikate (*.pem *.crt *.cer);;Alle Dateien (*)</translation>
    </message>
    <message>
        <source>Signing in and looking for your environments…</source>
        <translation>Anmeldung läuft, Ihre Umgebungen werden gesucht…</translation>
    </message>
    <message>
        <source>Connecting to {0}…</source>
        <translation>Verbindung mit {0} wird hergestellt…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>Wird abgebrochen…</translation>
    </message>
    <message>
        <source>Waiting for you to sign in…</source>
        <translation>Warten auf Ihre Anmeldung…</translation>
    </message>
    <message>
        <source>Signed in as {0}</source>
        <translation>Angemeldet als {0}</translation>
    </message>
    <message>
        <source>{0} can&apos;t use any Dynamics 365 environment in this cloud. Check the cloud, or ask your administrator for a security role in an environment.</source>
        <translation>{0} kann in dieser Cloud keine Dynamics 365-Umgebung verwenden. Prüfen Sie die Cloud, oder bitten Sie Ihren Administrator um eine Sicherheitsrolle in einer Umgebung.</translation>
    </message>
    <message>
        <source>{0} (added)</source>
        <translation>{0} (hinzugefügt)</translation>
    </message>
    <message>
        <source>The sign-in was cancelled.</source>
        <translation>Die Anmeldung wurde abgebrochen.</translation>
    </message>
    <message>
        <source>{0} is a Dynamics 365 (online) organization and does not accept Windows sign-in: choose Organization account (OAuth, AD FS) to sign in with your Microsoft 365 account.</source>
        <translation>{0} ist eine Dynamics 365-Organisation (online) und nimmt keine Windows-Anmeldung an: Wählen Sie Organisationskonto (OAuth, AD FS), um sich mit Ihrem Microsoft 365-Konto anzumelden.</translation>
    </message>
</context>
<context>
    <name>BasePage</name>
    <message>
        <source>Cancelling…</source>
        <translation>Wird abgebrochen…</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>Abgebrochen.</translation>
    </message>
</context>
<context>
    <name>BusyBar</name>
    <message>
        <source>Working</source>
        <translation>In Arbeit</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>ComputerPage</name>
    <message>
        <source>Synchronizing computer</source>
        <translation>Synchronisierender Computer</translation>
    </message>
    <message>
        <source>Only one computer synchronizes your mailbox with Dynamics 365. Decide whether it is this one.</source>
        <translation>Nur ein Computer synchronisiert Ihr Postfach mit Dynamics 365. Legen Sie fest, ob es dieser ist.</translation>
    </message>
    <message>
        <source>&amp;Make this computer the synchronizing client</source>
        <translation>Diesen Computer zum synchronisierenden &amp;Client machen</translation>
    </message>
    <message>
        <source>&amp;Stop synchronizing on this computer</source>
        <translation>Auf diesem Computer &amp;nicht mehr synchronisieren</translation>
    </message>
    <message>
        <source>&amp;Refresh</source>
        <translation>&amp;Aktualisieren</translation>
    </message>
    <message>
        <source>If you don&apos;t, you can still connect and browse, but nothing is synchronized from this computer.</source>
        <translation>Andernfalls können Sie weiterhin eine Verbindung herstellen und Daten ansehen, aber von diesem Computer aus wird nichts synchronisiert.</translation>
    </message>
    <message>
        <source>This computer: &lt;b&gt;{0}&lt;/b&gt;</source>
        <translation>Dieser Computer: &lt;b&gt;{0}&lt;/b&gt;</translation>
    </message>
    <message>
        <source>No organization synchronizes, so there is no synchronizing computer to choose.</source>
        <translation>Keine Organisation synchronisiert, daher gibt es keinen synchronisierenden Computer auszuwählen.</translation>
    </message>
    <message>
        <source>Asking {0} which computer synchronizes…</source>
        <translation>{0} wird gefragt, welcher Computer synchronisiert…</translation>
    </message>
    <message>
        <source>just now</source>
        <translation>gerade eben</translation>
    </message>
    <message>
        <source>{0} minutes ago</source>
        <translation>vor {0} Minuten</translation>
    </message>
    <message>
        <source>{0} hours ago</source>
        <translation>vor {0} Stunden</translation>
    </message>
    <message>
        <source>{0} days ago</source>
        <translation>vor {0} Tagen</translation>
    </message>
    <message>
        <source>No computer synchronizes for you in {0} yet.</source>
        <translation>In {0} synchronisiert noch kein Computer für Sie.</translation>
    </message>
    <message>
        <source>This computer is the synchronizing client for {0}, since {1}.</source>
        <translation>Dieser Computer ist seit {1} der synchronisierende Client für {0}.</translation>
    </message>
    <message>
        <source>The synchronizing client for {0} is: &lt;b&gt;{1}&lt;/b&gt;, since {2} (last seen {3}).</source>
        <translation>Der synchronisierende Client für {0} ist seit {2}: &lt;b&gt;{1}&lt;/b&gt; (zuletzt gesehen {3}).</translation>
    </message>
    <message>
        <source>Making this computer the synchronizing client…</source>
        <translation>Dieser Computer wird zum synchronisierenden Client gemacht…</translation>
    </message>
    <message>
        <source>{0} is the synchronizing client for your mailbox (last seen {1}).

Make this computer the synchronizing client? {0} will stop synchronizing.</source>
        <translation>{0} ist der synchronisierende Client für Ihr Postfach (zuletzt gesehen {1}).

Diesen Computer zum synchronisierenden Client machen? {0} synchronisiert dann nicht mehr.</translation>
    </message>
    <message>
        <source>Releasing the synchronizing client…</source>
        <translation>Der synchronisierende Client wird freigegeben…</translation>
    </message>
    <message>
        <source>This computer is now the synchronizing client.</source>
        <translation>Dieser Computer ist jetzt der synchronisierende Client.</translation>
    </message>
    <message>
        <source>This computer no longer synchronizes. Another computer can now take over.</source>
        <translation>Dieser Computer synchronisiert nicht mehr. Ein anderer Computer kann jetzt übernehmen.</translation>
    </message>
    <message>
        <source>{0} stays the synchronizing client; this computer will not synchronize.</source>
        <translation>{0} bleibt der synchronisierende Client; dieser Computer synchronisiert nicht.</translation>
    </message>
</context>
<context>
    <name>ConfigurationWizard</name>
    <message>
        <source>Configuration Wizard</source>
        <translation>Konfigurations-Assistent</translation>
    </message>
    <message>
        <source>unknown (the synchronizing computer was not checked)</source>
        <translation>unbekannt (der synchronisierende Computer wurde nicht geprüft)</translation>
    </message>
    <message>
        <source>{0} synchronizes</source>
        <translation>{0} synchronisiert</translation>
    </message>
    <message>
        <source>{0} does not synchronize (no computer does)</source>
        <translation>{0} synchronisiert nicht (kein Computer synchronisiert)</translation>
    </message>
    <message>
        <source>{0} does not synchronize ({1} does)</source>
        <translation>{0} synchronisiert nicht ({1} synchronisiert)</translation>
    </message>
    <message>
        <source>Close the Configuration Wizard</source>
        <translation>Konfigurations-Assistenten schließen</translation>
    </message>
    <message>
        <source>Close the Configuration Wizard without finishing? The options you chose are not saved, and the setup is not complete.</source>
        <translation>Den Konfigurations-Assistenten schließen, ohne ihn abzuschließen? Die gewählten Optionen werden nicht gespeichert, und die Einrichtung ist nicht vollständig.</translation>
    </message>
</context>
<context>
    <name>ConflictCard</name>
    <message>
        <source>Conflict: {what} — {field}</source>
        <translation>Konflikt: {what} — {field}</translation>
    </message>
    <message>
        <source>Dynamics 365:</source>
        <translation>Dynamics 365:</translation>
    </message>
    <message>
        <source>Mailbox:</source>
        <translation>Postfach:</translation>
    </message>
    <message>
        <source>Dynamics 365&apos;s value was applied to both sides.</source>
        <translation>Der Wert aus Dynamics 365 wurde auf beiden Seiten übernommen.</translation>
    </message>
    <message>
        <source>The mailbox&apos;s value was applied to both sides.</source>
        <translation>Der Wert aus dem Postfach wurde auf beiden Seiten übernommen.</translation>
    </message>
    <message>
        <source>Both sides keep their value until you choose the one they both get.</source>
        <translation>Beide Seiten behalten ihren Wert, bis Sie den Wert wählen, den beide erhalten.</translation>
    </message>
    <message>
        <source>Write the mailbox&apos;s value to Dynamics 365 too</source>
        <translation>Den Wert aus dem Postfach auch in Dynamics 365 schreiben</translation>
    </message>
    <message>
        <source>Write Dynamics 365&apos;s value to the mailbox too</source>
        <translation>Den Wert aus Dynamics 365 auch in das Postfach schreiben</translation>
    </message>
    <message>
        <source>Use &amp;mailbox value</source>
        <translation>Wert aus dem Postfach ver&amp;wenden</translation>
    </message>
    <message>
        <source>Use &amp;Dynamics 365 value</source>
        <translation>Wert aus &amp;Dynamics 365 verwenden</translation>
    </message>
</context>
<context>
    <name>DecisionsDialog</name>
    <message>
        <source>Decisions</source>
        <translation>Entscheidungen</translation>
    </message>
    <message>
        <source>Going online could not decide these changes by itself. Keep yours to send them to Dynamics 365, or keep what Dynamics 365 has.</source>
        <translation>Beim Onlinegehen konnten diese Änderungen nicht selbst entschieden werden. Behalten Sie Ihre, um sie an Dynamics 365 zu senden, oder behalten Sie den Stand von Dynamics 365.</translation>
    </message>
    <message>
        <source>Record</source>
        <translation>Datensatz</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>Feld</translation>
    </message>
    <message>
        <source>Mine</source>
        <translation>Meine</translation>
    </message>
    <message>
        <source>Dynamics 365</source>
        <translation>Dynamics 365</translation>
    </message>
    <message>
        <source>&amp;Waiting for you:</source>
        <translation>&amp;Warten auf Sie:</translation>
    </message>
    <message>
        <source>Keep &amp;mine</source>
        <translation>&amp;Meine behalten</translation>
    </message>
    <message>
        <source>Keep the &amp;server&apos;s</source>
        <translation>Die des &amp;Servers behalten</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>Schl&amp;ießen</translation>
    </message>
    <message>
        <source>the whole record</source>
        <translation>der ganze Datensatz</translation>
    </message>
    <message>
        <source>Nothing waits for your decision.</source>
        <translation>Nichts wartet auf Ihre Entscheidung.</translation>
    </message>
</context>
<context>
    <name>DemoPanel</name>
    <message>
        <source>Demo environment</source>
        <translation>Demo-Umgebung</translation>
    </message>
    <message>
        <source>This demo runs stand-ins for Dynamics 365, Exchange and the sign-in service on this computer. The wizard is prefilled for the online path; to try another one, copy an address from here.</source>
        <translation>Diese Demo führt Nachbildungen von Dynamics 365, Exchange und dem Anmeldedienst auf diesem Computer aus. Der Assistent ist für den Online-Weg vorausgefüllt; um einen anderen auszuprobieren, kopieren Sie eine Adresse von hier.</translation>
    </message>
    <message>
        <source>Dynamics 365 (online): {0}</source>
        <translation>Dynamics 365 (online): {0}</translation>
    </message>
    <message>
        <source>On-premises: {0}</source>
        <translation>Lokal: {0}</translation>
    </message>
    <message>
        <source>Global Discovery</source>
        <translation>Globaler Ermittlungsdienst</translation>
    </message>
    <message>
        <source>Sign-in authority</source>
        <translation>Anmeldedienst (Autorität)</translation>
    </message>
    <message>
        <source>Exchange (EWS)</source>
        <translation>Exchange (EWS)</translation>
    </message>
    <message>
        <source>Exchange Autodiscover</source>
        <translation>Exchange-AutoErmittlung</translation>
    </message>
    <message>
        <source>Microsoft Graph (Exchange Online)</source>
        <translation>Microsoft Graph (Exchange Online)</translation>
    </message>
    <message>
        <source>POP3</source>
        <translation>POP3</translation>
    </message>
    <message>
        <source>SMTP</source>
        <translation>SMTP</translation>
    </message>
    <message>
        <source>POP3 and SMTP</source>
        <translation>POP3 und SMTP</translation>
    </message>
    <message>
        <source>Certificate authority file</source>
        <translation>Datei der Zertifizierungsstelle</translation>
    </message>
    <message>
        <source>User (Microsoft 365 sign-in)</source>
        <translation>Benutzer (Microsoft 365-Anmeldung)</translation>
    </message>
    <message>
        <source>User (Windows sign-in)</source>
        <translation>Benutzer (Windows-Anmeldung)</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Kennwort</translation>
    </message>
    <message>
        <source>Mailbox password</source>
        <translation>Postfachkennwort</translation>
    </message>
    <message>
        <source>not part of this demo</source>
        <translation>nicht Teil dieser Demo</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>Kopieren</translation>
    </message>
    <message>
        <source>Copy {0}</source>
        <translation>{0} kopieren</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>Kopiert</translation>
    </message>
</context>
<context>
    <name>DeviceCodePanel</name>
    <message>
        <source>Cop&amp;y code</source>
        <translation>Code kop&amp;ieren</translation>
    </message>
    <message>
        <source>To sign in, open &lt;a href=&quot;{0}&quot;&gt;{0}&lt;/a&gt; in a browser (on any device) and enter this code:</source>
        <translation>Öffnen Sie zum Anmelden &lt;a href=&quot;{0}&quot;&gt;{0}&lt;/a&gt; in einem Browser (auf einem beliebigen Gerät), und geben Sie diesen Code ein:</translation>
    </message>
    <message>
        <source>Sign-in code {0}</source>
        <translation>Anmeldecode {0}</translation>
    </message>
</context>
<context>
    <name>EngineAdapter</name>
    <message>
        <source>the last run failed</source>
        <translation>der letzte Lauf ist fehlgeschlagen</translation>
    </message>
    <message>
        <source>{reason}; retrying at {time}.</source>
        <translation>{reason}; neuer Versuch um {time}.</translation>
    </message>
</context>
<context>
    <name>EngineText</name>
    <message>
        <source>{host} is limiting how many requests we may send (service protection). Synchronization continues automatically later.</source>
        <translation>{host} begrenzt, wie viele Anfragen wir senden dürfen (Dienstschutz). Die Synchronisierung wird später automatisch fortgesetzt.</translation>
    </message>
    <message>
        <source>{host} is unavailable or failed (HTTP {status}). It will be tried again later.</source>
        <translation>{host} ist nicht verfügbar oder hat einen Fehler gemeldet (HTTP {status}). Es wird später erneut versucht.</translation>
    </message>
    <message>
        <source>The sign-in to {host} is no longer valid. Sign in again (Configuration Wizard &gt; Organizations).</source>
        <translation>Die Anmeldung bei {host} ist nicht mehr gültig. Melden Sie sich erneut an (Konfigurations-Assistent &gt; Organisationen).</translation>
    </message>
    <message>
        <source>Your user account in {host} lacks a privilege for this: {message} Ask your Dynamics 365 administrator for the missing security role.</source>
        <translation>Ihrem Benutzerkonto in {host} fehlt dafür eine Berechtigung: {message} Bitten Sie Ihren Dynamics 365-Administrator um die fehlende Sicherheitsrolle.</translation>
    </message>
    <message>
        <source>The record no longer exists on {host}: {message}</source>
        <translation>Der Datensatz existiert auf {host} nicht mehr: {message}</translation>
    </message>
    <message>
        <source>The server refused the request: {message}</source>
        <translation>Der Server hat die Anfrage abgelehnt: {message}</translation>
    </message>
    <message>
        <source>The record was changed by someone else after it was read; it will be read again and the change retried.</source>
        <translation>Der Datensatz wurde nach dem Lesen von jemand anderem geändert; er wird erneut gelesen und die Änderung wiederholt.</translation>
    </message>
    <message>
        <source>{host} did not answer in time. Check your network connection; it will be tried again.</source>
        <translation>{host} hat nicht rechtzeitig geantwortet. Prüfen Sie Ihre Netzwerkverbindung; es wird erneut versucht.</translation>
    </message>
    <message>
        <source>{host} accepted the connection but did not answer in time. It will be tried again.</source>
        <translation>{host} hat die Verbindung angenommen, aber nicht rechtzeitig geantwortet. Es wird erneut versucht.</translation>
    </message>
    <message>
        <source>The server name {host} could not be found. Check the address and your network connection.</source>
        <translation>Der Servername {host} wurde nicht gefunden. Prüfen Sie die Adresse und Ihre Netzwerkverbindung.</translation>
    </message>
    <message>
        <source>{host} refused the connection: the service is not running there, or the port is wrong.</source>
        <translation>{host} hat die Verbindung abgelehnt: Der Dienst läuft dort nicht, oder der Port ist falsch.</translation>
    </message>
    <message>
        <source>The connection to {host} was interrupted before the answer arrived. It will be tried again.</source>
        <translation>Die Verbindung zu {host} wurde unterbrochen, bevor die Antwort eintraf. Es wird erneut versucht.</translation>
    </message>
    <message>
        <source>Talking to {host} failed ({error}). Check your network connection.</source>
        <translation>Die Verbindung mit {host} ist fehlgeschlagen ({error}). Prüfen Sie Ihre Netzwerkverbindung.</translation>
    </message>
    <message>
        <source>{server} is busy and asked us to slow down. Synchronization continues later.</source>
        <translation>{server} ist ausgelastet und bittet um weniger Anfragen. Die Synchronisierung wird später fortgesetzt.</translation>
    </message>
    <message>
        <source>{server} did not accept the user name or password (or the sign-in token). Check them and try again.</source>
        <translation>{server} hat den Benutzernamen oder das Kennwort (oder das Anmeldetoken) nicht akzeptiert. Prüfen Sie die Angaben und versuchen Sie es erneut.</translation>
    </message>
    <message>
        <source>{server} cannot be reached right now. Check the network connection; synchronization continues later.</source>
        <translation>{server} ist im Moment nicht erreichbar. Prüfen Sie die Netzwerkverbindung; die Synchronisierung wird später fortgesetzt.</translation>
    </message>
    <message>
        <source>{server} reported an internal error. Synchronization will try again later.</source>
        <translation>{server} hat einen internen Fehler gemeldet. Die Synchronisierung versucht es später erneut.</translation>
    </message>
    <message>
        <source>Talking to {server} failed unexpectedly.</source>
        <translation>Die Verbindung mit {server} ist unerwartet fehlgeschlagen.</translation>
    </message>
    <message>
        <source>{host} did not accept the user name and password (Windows sign-in). Check both; enter the user name as {domain_user} or user@domain.</source>
        <translation>{host} hat Benutzername und Kennwort nicht angenommen (Windows-Anmeldung). Prüfen Sie beides; geben Sie den Benutzernamen als {domain_user} oder benutzer@domäne ein.</translation>
    </message>
    <message>
        <source>{host} asked for Windows sign-in but did not go on with it. Check the address.</source>
        <translation>{host} hat eine Windows-Anmeldung verlangt, sie aber nicht fortgesetzt. Prüfen Sie die Adresse.</translation>
    </message>
    <message>
        <source>This run would delete {mailbox_deletes} of {mailbox_total} items in the mailbox and {crm_deletes} of {crm_total} records in Dynamics 365. Nothing was changed; choose “Synchronize anyway…” to delete them.</source>
        <translation>Dieser Lauf würde {mailbox_deletes} von {mailbox_total} Elementen im Postfach und {crm_deletes} von {crm_total} Datensätzen in Dynamics 365 löschen. Es wurde nichts geändert; wählen Sie „Trotzdem synchronisieren…“, um sie zu löschen.</translation>
    </message>
    <message>
        <source>An unexpected error stopped {kind}: {error}</source>
        <translation>Ein unerwarteter Fehler hat {kind} angehalten: {error}</translation>
    </message>
    <message>
        <source>This mailbox has no {kind}.</source>
        <translation>Dieses Postfach hat keine {kind}.</translation>
    </message>
    <message>
        <source>A recurring appointment that was being changed when synchronization stopped could not be finished in Dynamics 365 yet, so appointments were not synchronized. It is tried again on the next run.</source>
        <translation>Ein Serientermin, der beim Abbruch der Synchronisierung gerade geändert wurde, konnte in Dynamics 365 noch nicht fertiggestellt werden; deshalb wurden keine Termine synchronisiert. Beim nächsten Lauf wird es erneut versucht.</translation>
    </message>
    <message>
        <source>A synchronization is already running for this profile (process {pid}). Wait for it to finish.</source>
        <translation>Für dieses Profil läuft bereits eine Synchronisierung (Prozess {pid}). Warten Sie, bis sie beendet ist.</translation>
    </message>
    <message>
        <source>A synchronization is already running for this profile. Wait for it to finish.</source>
        <translation>Für dieses Profil läuft bereits eine Synchronisierung. Warten Sie, bis sie beendet ist.</translation>
    </message>
    <message>
        <source>The computer {host} is the synchronizing computer for your mailbox (since {since}, last seen {seen}). Make this computer the synchronizing client? If not, you can still connect and browse, but this computer will not synchronize.</source>
        <translation>Der Computer {host} ist der synchronisierende Computer für Ihr Postfach (seit {since}, zuletzt gesehen {seen}). Diesen Computer zum synchronisierenden Client machen? Wenn nicht, können Sie weiterhin eine Verbindung herstellen und Daten ansehen, aber dieser Computer synchronisiert nicht.</translation>
    </message>
    <message>
        <source>The computer {host} took over as the synchronizing computer for your mailbox (since {since}, last seen {seen}). Make this computer the synchronizing client? If not, you can still connect and browse, but this computer will not synchronize.</source>
        <translation>Der Computer {host} hat die Rolle des synchronisierenden Computers für Ihr Postfach übernommen (seit {since}, zuletzt gesehen {seen}). Diesen Computer zum synchronisierenden Client machen? Wenn nicht, können Sie weiterhin eine Verbindung herstellen und Daten ansehen, aber dieser Computer synchronisiert nicht.</translation>
    </message>
    <message>
        <source>Your user has no mailbox record in {url}. Ask your Dynamics 365 administrator to check your user&apos;s mailbox (Settings &gt; Email Configuration &gt; Mailboxes).</source>
        <translation>Ihr Benutzer hat keinen Postfach-Datensatz in {url}. Bitten Sie Ihren Dynamics 365-Administrator, das Postfach Ihres Benutzers zu prüfen (Einstellungen &gt; E-Mail-Konfiguration &gt; Postfächer).</translation>
    </message>
    <message>
        <source>No organization synchronizes yet, so messaging data is not synchronized. Choose one in the wizard (Organizations page) or above.</source>
        <translation>Noch synchronisiert keine Organisation, daher werden keine Messagingdaten synchronisiert. Wählen Sie eine im Assistenten (Seite Organisationen) oder oben aus.</translation>
    </message>
    <message>
        <source>No mailbox is bound, so nothing can be synchronized. Open the wizard and bind your mailbox on the Mailbox page.</source>
        <translation>Es ist kein Postfach verknüpft, daher kann nichts synchronisiert werden. Öffnen Sie den Assistenten und verknüpfen Sie Ihr Postfach auf der Seite Postfach.</translation>
    </message>
    <message>
        <source>Your mailbox {address} is not bound in {org}, so nothing is synchronized with it. Open the wizard and bind it on the Mailbox page; the address must be your Primary Email in {org}.</source>
        <translation>Ihr Postfach {address} ist in {org} nicht verknüpft, daher wird nichts damit synchronisiert. Öffnen Sie den Assistenten und verknüpfen Sie es auf der Seite Postfach; die Adresse muss Ihre primäre E-Mail-Adresse in {org} sein.</translation>
    </message>
    <message>
        <source>No password is stored for the mailbox {address}. Open the wizard and bind it again on the Mailbox page.</source>
        <translation>Für das Postfach {address} ist kein Kennwort gespeichert. Öffnen Sie den Assistenten und verknüpfen Sie es auf der Seite Postfach erneut.</translation>
    </message>
    <message>
        <source>The synchronization stopped unexpectedly. The log file has the details; it will be tried again.</source>
        <translation>Die Synchronisierung wurde unerwartet beendet. Die Protokolldatei enthält die Einzelheiten; sie wird erneut versucht.</translation>
    </message>
    <message>
        <source>Something unexpected went wrong ({name}). The log file has the details.</source>
        <translation>Etwas Unerwartetes ist schiefgegangen ({name}). Die Protokolldatei enthält die Einzelheiten.</translation>
    </message>
    <message>
        <source>The POP3 server of your mailbox is missing. Open the wizard and enter it on the Mailbox page.</source>
        <translation>Der POP3-Server Ihres Postfachs fehlt. Öffnen Sie den Assistenten und geben Sie ihn auf der Seite Postfach ein.</translation>
    </message>
    <message>
        <source>Exchange Online uses your Microsoft 365 sign-in, but this organization is on premises (Windows sign-in). Choose Exchange or POP3 for this organization.</source>
        <translation>Exchange Online verwendet Ihre Microsoft 365-Anmeldung, diese Organisation ist aber lokal installiert (Windows-Anmeldung). Wählen Sie für diese Organisation Exchange oder POP3.</translation>
    </message>
    <message>
        <source>No password is stored for {username} at {org}. Open the wizard and add the organization again on the Organizations page.</source>
        <translation>Für {username} bei {org} ist kein Kennwort gespeichert. Öffnen Sie den Assistenten und fügen Sie die Organisation auf der Seite Organisationen erneut hinzu.</translation>
    </message>
    <message>
        <source>Your sign-in has expired or was revoked. Open the wizard and sign in again on the Organizations page.</source>
        <translation>Ihre Anmeldung ist abgelaufen oder wurde widerrufen. Öffnen Sie den Assistenten und melden Sie sich auf der Seite Organisationen erneut an.</translation>
    </message>
    <message>
        <source>The user name or password is incorrect.</source>
        <translation>Der Benutzername oder das Kennwort ist falsch.</translation>
    </message>
    <message>
        <source>This user account does not exist in the organization&apos;s directory.</source>
        <translation>Dieses Benutzerkonto ist im Verzeichnis der Organisation nicht vorhanden.</translation>
    </message>
    <message>
        <source>The account is locked after too many failed sign-ins. Try again later.</source>
        <translation>Das Konto ist nach zu vielen fehlgeschlagenen Anmeldungen gesperrt. Versuchen Sie es später erneut.</translation>
    </message>
    <message>
        <source>The password has expired. Change it, then sign in again.</source>
        <translation>Das Kennwort ist abgelaufen. Ändern Sie es und melden Sie sich dann erneut an.</translation>
    </message>
    <message>
        <source>The account is disabled. Ask your administrator.</source>
        <translation>Das Konto ist deaktiviert. Wenden Sie sich an Ihren Administrator.</translation>
    </message>
    <message>
        <source>Your organization requires multi-factor authentication: sign in with the browser or a code.</source>
        <translation>Ihre Organisation verlangt eine mehrstufige Authentifizierung: Melden Sie sich im Browser oder mit einem Code an.</translation>
    </message>
    <message>
        <source>This application has not been given consent to access Dynamics 365 in your organization. Ask an administrator to grant consent, or sign in with the browser to consent.</source>
        <translation>Dieser Anwendung wurde in Ihrer Organisation nicht zugestimmt, auf Dynamics 365 zuzugreifen. Bitten Sie einen Administrator um die Zustimmung, oder melden Sie sich im Browser an, um selbst zuzustimmen.</translation>
    </message>
    <message>
        <source>The application (client id) is not registered in this directory. Check the client id.</source>
        <translation>Die Anwendung (Client-ID) ist in diesem Verzeichnis nicht registriert. Prüfen Sie die Client-ID.</translation>
    </message>
    <message>
        <source>The sign-in code expired before it was used. Start the sign-in again.</source>
        <translation>Der Anmeldecode ist abgelaufen, bevor er verwendet wurde. Starten Sie die Anmeldung erneut.</translation>
    </message>
    <message>
        <source>The sign-in was declined.</source>
        <translation>Die Anmeldung wurde abgelehnt.</translation>
    </message>
    <message>
        <source>The sign-in was cancelled.</source>
        <translation>Die Anmeldung wurde abgebrochen.</translation>
    </message>
    <message>
        <source>The requested permission (scope) is not valid for this service.</source>
        <translation>Die angeforderte Berechtigung (Scope) ist für diesen Dienst nicht gültig.</translation>
    </message>
    <message>
        <source>The application (client id) is not accepted by the sign-in service.</source>
        <translation>Die Anwendung (Client-ID) wird vom Anmeldedienst nicht akzeptiert.</translation>
    </message>
    <message>
        <source>You need to sign in again interactively.</source>
        <translation>Sie müssen sich erneut interaktiv anmelden.</translation>
    </message>
    <message>
        <source>The sign-in service is temporarily unavailable. Try again later.</source>
        <translation>Der Anmeldedienst ist vorübergehend nicht verfügbar. Versuchen Sie es später erneut.</translation>
    </message>
    <message>
        <source>The sign-in service reported an error. Try again later.</source>
        <translation>Der Anmeldedienst hat einen Fehler gemeldet. Versuchen Sie es später erneut.</translation>
    </message>
    <message>
        <source>Signing in failed because of an unexpected answer from the sign-in service.</source>
        <translation>Die Anmeldung ist wegen einer unerwarteten Antwort des Anmeldedienstes fehlgeschlagen.</translation>
    </message>
    <message>
        <source>Signing in failed ({error}).</source>
        <translation>Die Anmeldung ist fehlgeschlagen ({error}).</translation>
    </message>
    <message>
        <source>The certificate of the sign-in server {host} is not trusted. Check the address, or the certificate authority file if your organization uses its own.</source>
        <translation>Dem Zertifikat des Anmeldeservers {host} wird nicht vertraut. Prüfen Sie die Adresse oder, wenn Ihre Organisation eine eigene Zertifizierungsstelle verwendet, deren Zertifikatsdatei.</translation>
    </message>
    <message>
        <source>The sign-in server {host} cannot be reached. Check the network connection and the address.</source>
        <translation>Der Anmeldeserver {host} ist nicht erreichbar. Prüfen Sie die Netzwerkverbindung und die Adresse.</translation>
    </message>
    <message>
        <source>The encrypted sign-in cache cannot be used. Unlock your keyring and try again.</source>
        <translation>Der verschlüsselte Anmeldecache kann nicht verwendet werden. Entsperren Sie Ihren Schlüsselbund und versuchen Sie es erneut.</translation>
    </message>
    <message>
        <source>Your mailbox record in Dynamics 365 kept changing while we tried to update it; try again.</source>
        <translation>Ihr Postfachdatensatz in Dynamics 365 hat sich während der Aktualisierung immer wieder geändert; versuchen Sie es erneut.</translation>
    </message>
    <message>
        <source>This computer is no longer the synchronizing computer (the claim was released).</source>
        <translation>Dieser Computer ist nicht mehr der synchronisierende Computer (die Zuordnung wurde freigegeben).</translation>
    </message>
    <message>
        <source>The organization settings are missing.</source>
        <translation>Die Organisationseinstellungen fehlen.</translation>
    </message>
    <message>
        <source>{host} did not accept the sign-in even after a fresh sign-in token ({message}). Sign in again in the Configuration Wizard; if it keeps failing, your account may be disabled or have no access to this organization.</source>
        <translation>{host} hat die Anmeldung auch mit einem neuen Anmeldetoken nicht akzeptiert ({message}). Melden Sie sich im Konfigurations-Assistenten erneut an; wenn es weiterhin fehlschlägt, ist Ihr Konto möglicherweise deaktiviert oder hat keinen Zugriff auf diese Organisation.</translation>
    </message>
    <message>
        <source>{host} did not accept the sign-in ({message}). Sign in again in the Configuration Wizard; if it keeps failing, your account may be disabled or have no access to this organization.</source>
        <translation>{host} hat die Anmeldung nicht akzeptiert ({message}). Melden Sie sich im Konfigurations-Assistenten erneut an; wenn es weiterhin fehlschlägt, ist Ihr Konto möglicherweise deaktiviert oder hat keinen Zugriff auf diese Organisation.</translation>
    </message>
    <message>
        <source>A secure (TLS 1.2+) connection to {host} could not be established ({detail}). If your organization uses its own certificate authority, give its CA file in the settings; otherwise a proxy may be intercepting the connection.</source>
        <translation>Eine sichere Verbindung (TLS 1.2+) zu {host} konnte nicht hergestellt werden ({detail}). Wenn Ihre Organisation eine eigene Zertifizierungsstelle verwendet, geben Sie deren CA-Datei in den Einstellungen an; andernfalls fängt möglicherweise ein Proxy die Verbindung ab.</translation>
    </message>
    <message>
        <source>Not saved: {why}. It will be tried again.</source>
        <translation>Nicht gespeichert: {why}. Es wird erneut versucht.</translation>
    </message>
    <message>
        <source>{host} sent a {what} that does not lead back to {host} ({why}). It was not followed, so your sign-in was not sent anywhere else; this part of the synchronization stopped. If it keeps happening, a proxy or a compromised server may be rewriting answers: tell your administrator.</source>
        <translation>{host} hat einen Verweis ({what}) gesendet, der nicht zu {host} zurückführt ({why}). Ihm wurde nicht gefolgt, Ihre Anmeldung wurde also nirgendwohin sonst gesendet; dieser Teil der Synchronisierung wurde beendet. Wenn das wiederholt geschieht, verändert möglicherweise ein Proxy oder ein kompromittierter Server die Antworten: Informieren Sie Ihren Administrator.</translation>
    </message>
    <message>
        <source>{host} did not stop sending &apos;next page&apos; links for {what}: {why}. The listing was abandoned and this part of the synchronization stopped.</source>
        <translation>{host} hat nicht aufgehört, Verweise auf die nächste Seite für {what} zu senden: {why}. Die Auflistung wurde abgebrochen und dieser Teil der Synchronisierung beendet.</translation>
    </message>
    <message>
        <source>The server stopped answering: {host} did not finish its answer within {seconds} seconds. This part of the synchronization stopped; it will be tried again at the next run.</source>
        <translation>Der Server antwortet nicht mehr: {host} hat seine Antwort nicht innerhalb von {seconds} Sekunden abgeschlossen. Dieser Teil der Synchronisierung wurde beendet; er wird beim nächsten Lauf erneut versucht.</translation>
    </message>
    <message>
        <source>{host} sent an answer larger than {megabytes} MB, far more than any page of data should be (possibly a compressed &apos;bomb&apos; or a faulty proxy). It was not read to the end; this part of the synchronization stopped.</source>
        <translation>{host} hat eine Antwort gesendet, die größer als {megabytes} MB ist, weit mehr als eine Seite mit Daten sein sollte (möglicherweise eine komprimierte „Bombe“ oder ein fehlerhafter Proxy). Sie wurde nicht zu Ende gelesen; dieser Teil der Synchronisierung wurde beendet.</translation>
    </message>
    <message>
        <source>You are signed in, but {server} does not allow this account to open the mailbox.</source>
        <translation>Sie sind angemeldet, aber {server} erlaubt diesem Konto nicht, das Postfach zu öffnen.</translation>
    </message>
    <message>
        <source>{server} has no mailbox for this address. Check the email address.</source>
        <translation>{server} hat kein Postfach für diese Adresse. Prüfen Sie die E-Mail-Adresse.</translation>
    </message>
    <message>
        <source>A secure connection to {server} could not be set up: its certificate is not trusted or TLS failed. Check the server name and, for a company certificate authority, the CA file.</source>
        <translation>Eine sichere Verbindung zu {server} konnte nicht aufgebaut werden: Seinem Zertifikat wird nicht vertraut, oder TLS ist fehlgeschlagen. Prüfen Sie den Servernamen und, bei einer firmeneigenen Zertifizierungsstelle, die CA-Datei.</translation>
    </message>
    <message>
        <source>The item no longer exists in the mailbox.</source>
        <translation>Das Element ist im Postfach nicht mehr vorhanden.</translation>
    </message>
    <message>
        <source>The item was changed in the mailbox at the same time; it will be merged on the next run.</source>
        <translation>Das Element wurde gleichzeitig im Postfach geändert; es wird beim nächsten Lauf zusammengeführt.</translation>
    </message>
    <message>
        <source>The item changed in the mailbox; it is read again.</source>
        <translation>Das Element wurde im Postfach geändert; es wird erneut gelesen.</translation>
    </message>
    <message>
        <source>The mailbox&apos;s change marker was not accepted.</source>
        <translation>Die Änderungsmarke des Postfachs wurde nicht akzeptiert.</translation>
    </message>
    <message>
        <source>{server} redirected the request elsewhere; check the EWS address.</source>
        <translation>{server} hat die Anfrage an eine andere Stelle umgeleitet; prüfen Sie die EWS-Adresse.</translation>
    </message>
    <message>
        <source>{server} refused an item: {error}</source>
        <translation>{server} hat ein Element abgelehnt: {error}</translation>
    </message>
    <message>
        <source>An item could not be written to the mailbox: {error}</source>
        <translation>Ein Element konnte nicht in das Postfach geschrieben werden: {error}</translation>
    </message>
    <message>
        <source>An item of the wrong type was sent to a mailbox folder.</source>
        <translation>Ein Element des falschen Typs wurde an einen Postfachordner gesendet.</translation>
    </message>
    <message>
        <source>The appointment {subject} has no start or end time.</source>
        <translation>Der Termin {subject} hat keine Anfangs- oder Endzeit.</translation>
    </message>
    <message>
        <source>An appointment time had no time zone.</source>
        <translation>Eine Terminzeit hatte keine Zeitzone.</translation>
    </message>
    <message>
        <source>The Exchange address must start with https:// — the password or sign-in token would otherwise travel unencrypted.</source>
        <translation>Die Exchange-Adresse muss mit https:// beginnen — das Kennwort oder das Anmeldetoken würde sonst unverschlüsselt übertragen.</translation>
    </message>
    <message>
        <source>{server} did not accept the sign-in ({code}). Sign in again in the Configuration Wizard (Mailbox page).</source>
        <translation>{server} hat die Anmeldung nicht akzeptiert ({code}). Melden Sie sich im Konfigurations-Assistenten erneut an (Seite Postfach).</translation>
    </message>
    <message>
        <source>{server} is limiting requests; synchronization continues automatically later.</source>
        <translation>{server} begrenzt die Anfragen; die Synchronisierung wird später automatisch fortgesetzt.</translation>
    </message>
    <message>
        <source>This mailbox is not in Exchange Online (or is inactive); use the Exchange (EWS) option.</source>
        <translation>Dieses Postfach liegt nicht in Exchange Online (oder ist inaktiv); verwenden Sie die Option Exchange (EWS).</translation>
    </message>
    <message>
        <source>The sign-in has no permission for this ({message}). An administrator must consent to the app&apos;s mail, contacts, calendar and tasks permissions.</source>
        <translation>Die Anmeldung hat dafür keine Berechtigung ({message}). Ein Administrator muss den Berechtigungen der App für E-Mail, Kontakte, Kalender und Aufgaben zustimmen.</translation>
    </message>
    <message>
        <source>{server} refused this: {message}</source>
        <translation>{server} hat dies abgelehnt: {message}</translation>
    </message>
    <message>
        <source>TLS to {server} failed.</source>
        <translation>Die TLS-Verbindung zu {server} ist fehlgeschlagen.</translation>
    </message>
    <message>
        <source>The sign-in belongs to {user}, not to the mailbox {address}. Sign in as the mailbox&apos;s owner.</source>
        <translation>Die Anmeldung gehört zu {user}, nicht zum Postfach {address}. Melden Sie sich als Inhaber des Postfachs an.</translation>
    </message>
    <message>
        <source>Exchange Online answered a change query oddly.</source>
        <translation>Exchange Online hat auf eine Änderungsabfrage unerwartet geantwortet.</translation>
    </message>
    <message>
        <source>The mailbox has no default task list.</source>
        <translation>Das Postfach hat keine Standard-Aufgabenliste.</translation>
    </message>
    <message>
        <source>Exchange Online answered a batch oddly.</source>
        <translation>Exchange Online hat auf einen Batch unerwartet geantwortet.</translation>
    </message>
    <message>
        <source>Exchange Online left out part of a batch answer.</source>
        <translation>Exchange Online hat einen Teil einer Batch-Antwort ausgelassen.</translation>
    </message>
    <message>
        <source>This mailbox type ({backend}) cannot {what}.</source>
        <translation>Dieser Postfachtyp ({backend}) unterstützt das nicht: {what}.</translation>
    </message>
    <message>
        <source>A message could not be read (damaged).</source>
        <translation>Eine Nachricht konnte nicht gelesen werden (beschädigt).</translation>
    </message>
    <message>
        <source>A message could not be read.</source>
        <translation>Eine Nachricht konnte nicht gelesen werden.</translation>
    </message>
    <message>
        <source>An empty message was skipped.</source>
        <translation>Eine leere Nachricht wurde übersprungen.</translation>
    </message>
    <message>
        <source>The email address {address} is not valid.</source>
        <translation>Die E-Mail-Adresse {address} ist ungültig.</translation>
    </message>
    <message>
        <source>Invalid extra header.</source>
        <translation>Ungültige zusätzliche Kopfzeile.</translation>
    </message>
    <message>
        <source>The POP3 server {host} reported an error: {text}</source>
        <translation>Der POP3-Server {host} hat einen Fehler gemeldet: {text}</translation>
    </message>
    <message>
        <source>The POP3 server must use TLS (port 995 or STLS); passwords never go unencrypted.</source>
        <translation>Der POP3-Server muss TLS verwenden (Port 995 oder STLS); Kennwörter werden nie unverschlüsselt übertragen.</translation>
    </message>
    <message>
        <source>The certificate of the POP3 server {host} is not trusted ({detail}).</source>
        <translation>Dem Zertifikat des POP3-Servers {host} wird nicht vertraut ({detail}).</translation>
    </message>
    <message>
        <source>No secure connection to the POP3 server {host} could be made.</source>
        <translation>Zum POP3-Server {host} konnte keine sichere Verbindung hergestellt werden.</translation>
    </message>
    <message>
        <source>The POP3 server {host} was not found. Check the server name.</source>
        <translation>Der POP3-Server {host} wurde nicht gefunden. Prüfen Sie den Servernamen.</translation>
    </message>
    <message>
        <source>The POP3 server {host} did not answer in time.</source>
        <translation>Der POP3-Server {host} hat nicht rechtzeitig geantwortet.</translation>
    </message>
    <message>
        <source>The POP3 server {host} cannot be reached (port {port}).</source>
        <translation>Der POP3-Server {host} ist nicht erreichbar (Port {port}).</translation>
    </message>
    <message>
        <source>The POP3 server {host} does not offer STLS; use port 995 (POP3S).</source>
        <translation>Der POP3-Server {host} bietet kein STLS an; verwenden Sie Port 995 (POP3S).</translation>
    </message>
    <message>
        <source>The mailbox is in use by another program; trying again later.</source>
        <translation>Das Postfach wird von einem anderen Programm verwendet; es wird später erneut versucht.</translation>
    </message>
    <message>
        <source>The POP3 server {host} reported a temporary error.</source>
        <translation>Der POP3-Server {host} hat einen vorübergehenden Fehler gemeldet.</translation>
    </message>
    <message>
        <source>The POP3 server {host} did not accept the user name or password.</source>
        <translation>Der POP3-Server {host} hat den Benutzernamen oder das Kennwort nicht akzeptiert.</translation>
    </message>
    <message>
        <source>The SMTP server must use TLS (port 465 or STARTTLS on 587).</source>
        <translation>Der SMTP-Server muss TLS verwenden (Port 465 oder STARTTLS auf 587).</translation>
    </message>
    <message>
        <source>The email has no recipients.</source>
        <translation>Die E-Mail hat keine Empfänger.</translation>
    </message>
    <message>
        <source>The secure connection to the POP3 server broke down.</source>
        <translation>Die sichere Verbindung zum POP3-Server ist abgebrochen.</translation>
    </message>
    <message>
        <source>The connection to the POP3 server {host} was lost.</source>
        <translation>Die Verbindung zum POP3-Server {host} wurde unterbrochen.</translation>
    </message>
    <message>
        <source>The SMTP server {host} did not accept the user name or password.</source>
        <translation>Der SMTP-Server {host} hat den Benutzernamen oder das Kennwort nicht akzeptiert.</translation>
    </message>
    <message>
        <source>The SMTP server {host} does not support login.</source>
        <translation>Der SMTP-Server {host} unterstützt keine Anmeldung.</translation>
    </message>
    <message>
        <source>The mail server refused the recipient(s) {recipients}.</source>
        <translation>Der Mailserver hat diese Empfänger abgelehnt: {recipients}.</translation>
    </message>
    <message>
        <source>The mail server refused the sender address {sender}.</source>
        <translation>Der Mailserver hat die Absenderadresse {sender} abgelehnt.</translation>
    </message>
    <message>
        <source>The SMTP server {host} refused the message ({code}).</source>
        <translation>Der SMTP-Server {host} hat die Nachricht abgelehnt ({code}).</translation>
    </message>
    <message>
        <source>The SMTP server {host} has an untrusted certificate ({detail}).</source>
        <translation>Der SMTP-Server {host} hat ein nicht vertrauenswürdiges Zertifikat ({detail}).</translation>
    </message>
    <message>
        <source>No secure connection to the SMTP server {host} could be made.</source>
        <translation>Zum SMTP-Server {host} konnte keine sichere Verbindung hergestellt werden.</translation>
    </message>
    <message>
        <source>The SMTP server {host} cannot be reached (port {port}).</source>
        <translation>Der SMTP-Server {host} ist nicht erreichbar (Port {port}).</translation>
    </message>
    <message>
        <source>The SMTP server {host} does not offer STARTTLS; use port 465.</source>
        <translation>Der SMTP-Server {host} bietet kein STARTTLS an; verwenden Sie Port 465.</translation>
    </message>
    <message>
        <source>The SMTP server {host} is busy; sending again later.</source>
        <translation>Der SMTP-Server {host} ist ausgelastet; es wird später erneut gesendet.</translation>
    </message>
    <message>
        <source>A message was removed from the server before it was read.</source>
        <translation>Eine Nachricht wurde vom Server entfernt, bevor sie gelesen wurde.</translation>
    </message>
    <message>
        <source>The POP3 server refused to hand out one message.</source>
        <translation>Der POP3-Server hat die Herausgabe einer Nachricht verweigert.</translation>
    </message>
    <message>
        <source>The keyring refused to {action} a secret. Unlock your keyring and try again.</source>
        <translation>Der Schlüsselbund hat den Zugriff auf ein Geheimnis verweigert ({action}). Entsperren Sie Ihren Schlüsselbund und versuchen Sie es erneut.</translation>
    </message>
    <message>
        <source>The passphrase in {variable} does not unlock the encrypted file keyring.</source>
        <translation>Die Passphrase in {variable} entsperrt den verschlüsselten Datei-Schlüsselbund nicht.</translation>
    </message>
    <message>
        <source>The encrypted file keyring is locked and there is no terminal to ask for its passphrase, so nothing was saved. Set {variable} (see docs/cli.md, Secrets).</source>
        <translation>Der verschlüsselte Datei-Schlüsselbund ist gesperrt, und es gibt kein Terminal, um nach seiner Passphrase zu fragen; daher wurde nichts gespeichert. Setzen Sie {variable} (siehe docs/cli.md, Abschnitt Secrets).</translation>
    </message>
    <message>
        <source>The sync state in {folder} cannot be read or written ({error}); nothing was changed.</source>
        <translation>Der Synchronisierungsstatus in {folder} kann nicht gelesen oder geschrieben werden ({error}); es wurde nichts geändert.</translation>
    </message>
    <message>
        <source>The disk holding {folder} is full; nothing was changed. Free some space there and synchronize again.</source>
        <translation>Der Datenträger mit {folder} ist voll; es wurde nichts geändert. Schaffen Sie dort Platz und synchronisieren Sie erneut.</translation>
    </message>
    <message>
        <source>The sync state is in use by another d365sync process; nothing was changed. Try again in a moment.</source>
        <translation>Der Synchronisierungsstatus wird von einem anderen d365sync-Prozess verwendet; es wurde nichts geändert. Versuchen Sie es gleich noch einmal.</translation>
    </message>
    <message>
        <source>The sync state in {folder} cannot be written (the file or its folder is read-only); nothing was changed.</source>
        <translation>Der Synchronisierungsstatus in {folder} kann nicht geschrieben werden (die Datei oder ihr Ordner ist schreibgeschützt); es wurde nichts geändert.</translation>
    </message>
    <message>
        <source>The sync state was written by a newer version of d365sync. Please update.</source>
        <translation>Der Synchronisierungsstatus wurde von einer neueren Version von d365sync geschrieben. Bitte aktualisieren Sie d365sync.</translation>
    </message>
    <message>
        <source>An item changed in the mailbox while it was being synchronized; it is merged again on the next run.</source>
        <translation>Ein Element wurde während der Synchronisierung im Postfach geändert; es wird beim nächsten Lauf erneut zusammengeführt.</translation>
    </message>
    <message>
        <source>{count} skipped: already tracked</source>
        <translation>{count} übersprungen: bereits nachverfolgt</translation>
    </message>
    <message>
        <source>reading Dynamics 365 and the mailbox</source>
        <translation>Dynamics 365 und das Postfach werden gelesen</translation>
    </message>
    <message>
        <source>Reading email settings</source>
        <translation>E-Mail-Einstellungen werden gelesen</translation>
    </message>
    <message>
        <source>Sending: {subject}</source>
        <translation>Senden: {subject}</translation>
    </message>
    <message>
        <source>Checking {folder}</source>
        <translation>{folder} wird geprüft</translation>
    </message>
    <message>
        <source>{record}: it will be created at the next go-online although it looks like a duplicate.</source>
        <translation>{record}: Der Datensatz wird beim nächsten Onlinegehen erstellt, obwohl er wie ein Duplikat aussieht.</translation>
    </message>
    <message>
        <source>{record}: the new record was discarded.</source>
        <translation>{record}: Der neue Datensatz wurde verworfen.</translation>
    </message>
    <message>
        <source>{record}: it will be created again at the next go-online.</source>
        <translation>{record}: Der Datensatz wird beim nächsten Onlinegehen erneut erstellt.</translation>
    </message>
    <message>
        <source>{record}: your offline changes were dropped; the record was deleted in Dynamics 365.</source>
        <translation>{record}: Ihre Offlineänderungen wurden verworfen; der Datensatz wurde in Dynamics 365 gelöscht.</translation>
    </message>
    <message>
        <source>{record}: it will be deleted at the next go-online.</source>
        <translation>{record}: Der Datensatz wird beim nächsten Onlinegehen gelöscht.</translation>
    </message>
    <message>
        <source>{record}: the record from Dynamics 365 is back.</source>
        <translation>{record}: Der Datensatz aus Dynamics 365 ist wieder da.</translation>
    </message>
    <message>
        <source>{record}: your offline value will be sent at the next go-online.</source>
        <translation>{record}: Ihr Offlinewert wird beim nächsten Onlinegehen gesendet.</translation>
    </message>
    <message>
        <source>{record}: the value from Dynamics 365 is kept.</source>
        <translation>{record}: Der Wert aus Dynamics 365 bleibt erhalten.</translation>
    </message>
    <message>
        <source>{record}: kept and sent to Dynamics 365.</source>
        <translation>{record}: Beibehalten und an Dynamics 365 gesendet.</translation>
    </message>
    <message>
        <source>{record}: kept; it is sent with the next refresh.</source>
        <translation>{record}: Beibehalten; wird mit der nächsten Aktualisierung gesendet.</translation>
    </message>
</context>
<context>
    <name>ErrorLine</name>
    <message>
        <source>Open the &amp;wizard…</source>
        <translation>Assis&amp;tent öffnen…</translation>
    </message>
    <message>
        <source>Synchronize &amp;anyway…</source>
        <translation>T&amp;rotzdem synchronisieren…</translation>
    </message>
    <message>
        <source>Re&amp;try now</source>
        <translation>Jetzt wieder&amp;holen</translation>
    </message>
</context>
<context>
    <name>FieldName</name>
    <message>
        <source>Whole record</source>
        <translation>Ganzer Datensatz</translation>
    </message>
    <message>
        <source>First Name</source>
        <translation>Vorname</translation>
    </message>
    <message>
        <source>Middle Name</source>
        <translation>Zweiter Vorname</translation>
    </message>
    <message>
        <source>Last Name</source>
        <translation>Nachname</translation>
    </message>
    <message>
        <source>Company</source>
        <translation>Firma</translation>
    </message>
    <message>
        <source>Job Title</source>
        <translation>Position</translation>
    </message>
    <message>
        <source>Department</source>
        <translation>Abteilung</translation>
    </message>
    <message>
        <source>E-mail</source>
        <translation>E-Mail</translation>
    </message>
    <message>
        <source>E-mail 2</source>
        <translation>E-Mail 2</translation>
    </message>
    <message>
        <source>E-mail 3</source>
        <translation>E-Mail 3</translation>
    </message>
    <message>
        <source>Business Phone</source>
        <translation>Telefon geschäftlich</translation>
    </message>
    <message>
        <source>Home Phone</source>
        <translation>Telefon privat</translation>
    </message>
    <message>
        <source>Mobile</source>
        <translation>Mobiltelefon</translation>
    </message>
    <message>
        <source>Business Fax</source>
        <translation>Fax geschäftlich</translation>
    </message>
    <message>
        <source>Mailing Address/Business Address: Street 1</source>
        <translation>Post-/Geschäftsadresse: Straße 1</translation>
    </message>
    <message>
        <source>Mailing Address/Business Address: Street 2</source>
        <translation>Post-/Geschäftsadresse: Straße 2</translation>
    </message>
    <message>
        <source>Mailing Address/Business Address: Street 3</source>
        <translation>Post-/Geschäftsadresse: Straße 3</translation>
    </message>
    <message>
        <source>Mailing Address/Business Address: City</source>
        <translation>Post-/Geschäftsadresse: Ort</translation>
    </message>
    <message>
        <source>Mailing Address/Business Address: State/Province</source>
        <translation>Post-/Geschäftsadresse: Bundesland/Kanton</translation>
    </message>
    <message>
        <source>Mailing Address/Business Address: ZIP/Postal Code</source>
        <translation>Post-/Geschäftsadresse: Postleitzahl</translation>
    </message>
    <message>
        <source>Mailing Address/Business Address: Country/Region</source>
        <translation>Post-/Geschäftsadresse: Land/Region</translation>
    </message>
    <message>
        <source>Home Address: Street 1</source>
        <translation>Privatadresse: Straße 1</translation>
    </message>
    <message>
        <source>Home Address: Street 2</source>
        <translation>Privatadresse: Straße 2</translation>
    </message>
    <message>
        <source>Home Address: Street 3</source>
        <translation>Privatadresse: Straße 3</translation>
    </message>
    <message>
        <source>Home Address: City</source>
        <translation>Privatadresse: Ort</translation>
    </message>
    <message>
        <source>Home Address: State/Province</source>
        <translation>Privatadresse: Bundesland/Kanton</translation>
    </message>
    <message>
        <source>Home Address: ZIP/Postal Code</source>
        <translation>Privatadresse: Postleitzahl</translation>
    </message>
    <message>
        <source>Home Address: Country/Region</source>
        <translation>Privatadresse: Land/Region</translation>
    </message>
    <message>
        <source>Web Page</source>
        <translation>Webseite</translation>
    </message>
    <message>
        <source>Birthday</source>
        <translation>Geburtstag</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>Notizen</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>Betreff</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>Beginn</translation>
    </message>
    <message>
        <source>End</source>
        <translation>Ende</translation>
    </message>
    <message>
        <source>All Day Event</source>
        <translation>Ganztägiges Ereignis</translation>
    </message>
    <message>
        <source>Location</source>
        <translation>Ort</translation>
    </message>
    <message>
        <source>Body</source>
        <translation>Text</translation>
    </message>
    <message>
        <source>Organizer, Required Attendees, Optional Attendees</source>
        <translation>Organisator, erforderliche Teilnehmer, optionale Teilnehmer</translation>
    </message>
    <message>
        <source>Recurrence</source>
        <translation>Serienmuster</translation>
    </message>
    <message>
        <source>Start Date</source>
        <translation>Startdatum</translation>
    </message>
    <message>
        <source>Due Date</source>
        <translation>Fälligkeitsdatum</translation>
    </message>
    <message>
        <source>% Complete</source>
        <translation>% erledigt</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>Priorität</translation>
    </message>
</context>
<context>
    <name>KindTable</name>
    <message>
        <source>Kind</source>
        <translation>Art</translation>
    </message>
    <message>
        <source>Last run</source>
        <translation>Letzter Lauf</translation>
    </message>
    <message>
        <source>Next run</source>
        <translation>Nächster Lauf</translation>
    </message>
    <message>
        <source>→ Mailbox</source>
        <translation>→ Postfach</translation>
    </message>
    <message>
        <source>→ Dynamics</source>
        <translation>→ Dynamics</translation>
    </message>
    <message>
        <source>Issues</source>
        <translation>Probleme</translation>
    </message>
    <message>
        <source>Synchronization by kind</source>
        <translation>Synchronisierung nach Art</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>Angehalten</translation>
    </message>
    <message>
        <source>not yet</source>
        <translation>noch nicht</translation>
    </message>
    <message>
        <source>1 conflict</source>
        <translation>1 Konflikt</translation>
    </message>
    <message>
        <source>{n} conflicts</source>
        <translation>{n} Konflikte</translation>
    </message>
    <message>
        <source>1 error</source>
        <translation>1 Fehler</translation>
    </message>
    <message>
        <source>{n} errors</source>
        <translation>{n} Fehler</translation>
    </message>
    <message>
        <source>1 waiting</source>
        <translation>1 wartet</translation>
    </message>
    <message>
        <source>{n} waiting</source>
        <translation>{n} warten</translation>
    </message>
    <message>
        <source>Occurrences of recurring appointments changed or deleted in the mailbox that Dynamics 365 has no occurrence for yet (beyond its calendar window). They are written once it has.</source>
        <translation>Im Postfach geänderte oder gelöschte Einzeltermine von Serienterminen, die es in Dynamics 365 noch nicht gibt (außerhalb seines Kalenderfensters). Sie werden geschrieben, sobald Dynamics 365 sie hat.</translation>
    </message>
    <message>
        <source>Succeeded</source>
        <translation>Erfolgreich</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fehlgeschlagen</translation>
    </message>
    <message>
        <source>Skipped</source>
        <translation>Übersprungen</translation>
    </message>
    <message>
        <source>Waiting for your confirmation</source>
        <translation>Wartet auf Ihre Bestätigung</translation>
    </message>
</context>
<context>
    <name>LogView</name>
    <message>
        <source>Log</source>
        <translation>Protokoll</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <source>What happened</source>
        <translation>Was geschah</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Ergebnis</translation>
    </message>
    <message>
        <source>Activity</source>
        <translation>Aktivität</translation>
    </message>
    <message>
        <source>Nothing has been synchronized yet.</source>
        <translation>Es wurde noch nichts synchronisiert.</translation>
    </message>
    <message>
        <source>Technical log</source>
        <translation>Technisches Protokoll</translation>
    </message>
    <message>
        <source>What d365sync did, newest first.</source>
        <translation>Was d365sync getan hat, das Neueste zuerst.</translation>
    </message>
    <message>
        <source>Show the &amp;technical log</source>
        <translation>&amp;Technisches Protokoll anzeigen</translation>
    </message>
    <message>
        <source>The program&apos;s log messages, newest last (passwords and tokens hidden).</source>
        <translation>Die Protokollmeldungen des Programms, die neuesten zuletzt (Kennwörter und Token verborgen).</translation>
    </message>
    <message>
        <source>Show the &amp;activity</source>
        <translation>&amp;Aktivität anzeigen</translation>
    </message>
</context>
<context>
    <name>MailboxField</name>
    <message>
        <source>First name</source>
        <translation>Vorname</translation>
    </message>
    <message>
        <source>Middle name</source>
        <translation>Weitere Vornamen</translation>
    </message>
    <message>
        <source>Last name</source>
        <translation>Nachname</translation>
    </message>
    <message>
        <source>Company</source>
        <translation>Firma</translation>
    </message>
    <message>
        <source>Job title</source>
        <translation>Position</translation>
    </message>
    <message>
        <source>Department</source>
        <translation>Abteilung</translation>
    </message>
    <message>
        <source>Email</source>
        <translation>E-Mail</translation>
    </message>
    <message>
        <source>Email 2</source>
        <translation>E-Mail 2</translation>
    </message>
    <message>
        <source>Email 3</source>
        <translation>E-Mail 3</translation>
    </message>
    <message>
        <source>Business phone</source>
        <translation>Telefon geschäftlich</translation>
    </message>
    <message>
        <source>Home phone</source>
        <translation>Telefon privat</translation>
    </message>
    <message>
        <source>Mobile phone</source>
        <translation>Mobiltelefon</translation>
    </message>
    <message>
        <source>Business fax</source>
        <translation>Fax geschäftlich</translation>
    </message>
    <message>
        <source>Business address: street, line 1</source>
        <translation>Geschäftsadresse: Straße, Zeile 1</translation>
    </message>
    <message>
        <source>Business address: street, line 2</source>
        <translation>Geschäftsadresse: Straße, Zeile 2</translation>
    </message>
    <message>
        <source>Business address: street, lines 3 and more</source>
        <translation>Geschäftsadresse: Straße, ab Zeile 3</translation>
    </message>
    <message>
        <source>Business address: city</source>
        <translation>Geschäftsadresse: Ort</translation>
    </message>
    <message>
        <source>Business address: state/province</source>
        <translation>Geschäftsadresse: Bundesland/Kanton</translation>
    </message>
    <message>
        <source>Business address: ZIP/postal code</source>
        <translation>Geschäftsadresse: Postleitzahl</translation>
    </message>
    <message>
        <source>Business address: country/region</source>
        <translation>Geschäftsadresse: Land/Region</translation>
    </message>
    <message>
        <source>Home address: street, line 1</source>
        <translation>Privatadresse: Straße, Zeile 1</translation>
    </message>
    <message>
        <source>Home address: street, line 2</source>
        <translation>Privatadresse: Straße, Zeile 2</translation>
    </message>
    <message>
        <source>Home address: street, lines 3 and more</source>
        <translation>Privatadresse: Straße, ab Zeile 3</translation>
    </message>
    <message>
        <source>Home address: city</source>
        <translation>Privatadresse: Ort</translation>
    </message>
    <message>
        <source>Home address: state/province</source>
        <translation>Privatadresse: Bundesland/Kanton</translation>
    </message>
    <message>
        <source>Home address: ZIP/postal code</source>
        <translation>Privatadresse: Postleitzahl</translation>
    </message>
    <message>
        <source>Home address: country/region</source>
        <translation>Privatadresse: Land/Region</translation>
    </message>
    <message>
        <source>Web page</source>
        <translation>Webseite</translation>
    </message>
    <message>
        <source>Birthday</source>
        <translation>Geburtstag</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>Notizen</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>Betreff</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>Beginn</translation>
    </message>
    <message>
        <source>End</source>
        <translation>Ende</translation>
    </message>
    <message>
        <source>All day event</source>
        <translation>Ganztägiges Ereignis</translation>
    </message>
    <message>
        <source>Location</source>
        <translation>Ort</translation>
    </message>
    <message>
        <source>Body</source>
        <translation>Text</translation>
    </message>
    <message>
        <source>Organizer, required and optional attendees</source>
        <translation>Organisator, erforderliche und optionale Teilnehmer</translation>
    </message>
    <message>
        <source>Recurrence</source>
        <translation>Serienmuster</translation>
    </message>
    <message>
        <source>Due date</source>
        <translation>Fälligkeitsdatum</translation>
    </message>
    <message>
        <source>% complete</source>
        <translation>% erledigt</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Importance</source>
        <translation>Wichtigkeit</translation>
    </message>
</context>
<context>
    <name>MailboxPage</name>
    <message>
        <source>Your primary mailbox</source>
        <translation>Ihr primäres Postfach</translation>
    </message>
    <message>
        <source>The mailbox that synchronizes with your synchronizing organization. Its address must be your Primary Email in Dynamics 365.</source>
        <translation>Das Postfach, das mit Ihrer Synchronisierungsorganisation synchronisiert. Seine Adresse muss Ihre primäre E-Mail-Adresse in Dynamics 365 sein.</translation>
    </message>
    <message>
        <source>anna.schmidt@contoso.com</source>
        <translation>anna.schmidt@contoso.com</translation>
    </message>
    <message>
        <source>only if it differs from the address</source>
        <translation>nur wenn er von der Adresse abweicht</translation>
    </message>
    <message>
        <source>Windows (NTLM)</source>
        <translation>Windows (NTLM)</translation>
    </message>
    <message>
        <source>Basic (over TLS only)</source>
        <translation>Standard (nur über TLS)</translation>
    </message>
    <message>
        <source>Your Dynamics 365 sign-in (OAuth)</source>
        <translation>Ihre Dynamics 365-Anmeldung (OAuth)</translation>
    </message>
    <message>
        <source>E&amp;xchange (find the server automatically)</source>
        <translation>E&amp;xchange (Server automatisch finden)</translation>
    </message>
    <message>
        <source>Exchange, server &amp;URL:</source>
        <translation>Exchange, Server-&amp;URL:</translation>
    </message>
    <message>
        <source>Exchange &amp;Online (Microsoft 365)</source>
        <translation>Exchange &amp;Online (Microsoft 365)</translation>
    </message>
    <message>
        <source>&amp;POP3 + SMTP (email only)</source>
        <translation>&amp;POP3 + SMTP (nur E-Mail)</translation>
    </message>
    <message>
        <source>https://autodiscover.contoso.com/autodiscover/autodiscover.svc</source>
        <translation>https://autodiscover.contoso.com/autodiscover/autodiscover.svc</translation>
    </message>
    <message>
        <source>Autodiscover service URL</source>
        <translation>URL des Autodiscover-Dienstes</translation>
    </message>
    <message>
        <source>Exchange server URL</source>
        <translation>URL des Exchange-Servers</translation>
    </message>
    <message>
        <source>POP3 server</source>
        <translation>POP3-Server</translation>
    </message>
    <message>
        <source>POP3 port</source>
        <translation>POP3-Port</translation>
    </message>
    <message>
        <source>POP3 security</source>
        <translation>POP3-Sicherheit</translation>
    </message>
    <message>
        <source>SMTP server</source>
        <translation>SMTP-Server</translation>
    </message>
    <message>
        <source>SMTP port</source>
        <translation>SMTP-Port</translation>
    </message>
    <message>
        <source>SMTP security</source>
        <translation>SMTP-Sicherheit</translation>
    </message>
    <message>
        <source>Autodiscover &amp;service (optional):</source>
        <translation>Autodiscover-&amp;Dienst (optional):</translation>
    </message>
    <message>
        <source>POP3:</source>
        <translation>POP3:</translation>
    </message>
    <message>
        <source>SMTP:</source>
        <translation>SMTP:</translation>
    </message>
    <message>
        <source>Port:</source>
        <translation>Port:</translation>
    </message>
    <message>
        <source>&amp;Address:</source>
        <translation>&amp;Adresse:</translation>
    </message>
    <message>
        <source>Type:</source>
        <translation>Typ:</translation>
    </message>
    <message>
        <source>User na&amp;me:</source>
        <translation>Benutzer&amp;name:</translation>
    </message>
    <message>
        <source>Pass&amp;word:</source>
        <translation>&amp;Kennwort:</translation>
    </message>
    <message>
        <source>Exchange si&amp;gn-in:</source>
        <translation>Exchange-Anmeldun&amp;g:</translation>
    </message>
    <message>
        <source>&amp;Test</source>
        <translation>&amp;Testen</translation>
    </message>
    <message>
        <source>B&amp;ind this mailbox</source>
        <translation>Dieses Postfach &amp;verknüpfen</translation>
    </message>
    <message>
        <source>Unbin&amp;d</source>
        <translation>Verknüpfung auf&amp;heben</translation>
    </message>
    <message>
        <source>SSL/TLS</source>
        <translation>SSL/TLS</translation>
    </message>
    <message>
        <source>STARTTLS</source>
        <translation>STARTTLS</translation>
    </message>
    <message>
        <source>No organization synchronizes, so no mailbox can be bound. Go back and choose a synchronizing organization, or continue without a mailbox.</source>
        <translation>Keine Organisation synchronisiert, daher kann kein Postfach verknüpft werden. Gehen Sie zurück und wählen Sie eine Synchronisierungsorganisation, oder fahren Sie ohne Postfach fort.</translation>
    </message>
    <message>
        <source>Looking up your Primary Email in {0}…</source>
        <translation>Ihre primäre E-Mail-Adresse wird in {0} gesucht…</translation>
    </message>
    <message>
        <source>Looking for your Exchange server (Autodiscover)…</source>
        <translation>Ihr Exchange-Server wird gesucht (Autodiscover)…</translation>
    </message>
    <message>
        <source>Connecting to your mailbox…</source>
        <translation>Verbindung mit Ihrem Postfach wird hergestellt…</translation>
    </message>
    <message>
        <source>Binding {0}…</source>
        <translation>{0} wird verknüpft…</translation>
    </message>
    <message>
        <source>Unbind {0}? Nothing is synchronized with a mailbox until you bind one again.</source>
        <translation>Die Verknüpfung mit {0} aufheben? Bis Sie wieder ein Postfach verknüpfen, wird nichts mit einem Postfach synchronisiert.</translation>
    </message>
    <message>
        <source>Unbind the mailbox</source>
        <translation>Verknüpfung mit dem Postfach aufheben</translation>
    </message>
    <message>
        <source>Unbinding the mailbox…</source>
        <translation>Die Verknüpfung des Postfachs wird aufgehoben…</translation>
    </message>
    <message>
        <source>Your Primary Email in Dynamics 365 is {0}.</source>
        <translation>Ihre primäre E-Mail-Adresse in Dynamics 365 ist {0}.</translation>
    </message>
    <message>
        <source>Your user record in Dynamics 365 has no Primary Email; ask your administrator to set it.</source>
        <translation>Ihr Benutzerdatensatz in Dynamics 365 hat keine primäre E-Mail-Adresse; bitten Sie Ihren Administrator, sie festzulegen.</translation>
    </message>
    <message>
        <source>POP3 {0}:{1}</source>
        <translation>POP3 {0}:{1}</translation>
    </message>
    <message>
        <source>, SMTP {0}:{1}</source>
        <translation>, SMTP {0}:{1}</translation>
    </message>
    <message>
        <source>Exchange Online</source>
        <translation>Exchange Online</translation>
    </message>
    <message>
        <source>Exchange at {0} (found by Autodiscover)</source>
        <translation>Exchange unter {0} (von Autodiscover gefunden)</translation>
    </message>
    <message>
        <source>Exchange at {0}</source>
        <translation>Exchange unter {0}</translation>
    </message>
    <message>
        <source>Found {0}. Click Bind this mailbox to use it.</source>
        <translation>{0} gefunden. Klicken Sie auf „Dieses Postfach verknüpfen“, um es zu verwenden.</translation>
    </message>
    <message>
        <source>{0} is now your primary mailbox.</source>
        <translation>{0} ist jetzt Ihr primäres Postfach.</translation>
    </message>
    <message>
        <source>The mailbox was unbound.</source>
        <translation>Die Verknüpfung des Postfachs wurde aufgehoben.</translation>
    </message>
    <message>
        <source>No mailbox is bound yet. Without one, nothing is synchronized with a mailbox.</source>
        <translation>Es ist noch kein Postfach verknüpft. Ohne Postfach wird nichts mit einem Postfach synchronisiert.</translation>
    </message>
    <message>
        <source>{0} is bound in {1}, not yet in {2}, the synchronizing organization. Click Bind this mailbox to bind it there.</source>
        <translation>{0} ist in {1} verknüpft, aber noch nicht in {2}, der synchronisierenden Organisation. Klicken Sie auf „Dieses Postfach verknüpfen“, um es dort zu verknüpfen.</translation>
    </message>
    <message>
        <source>Bound: {0} — {1}</source>
        <translation>Verknüpft: {0} — {1}</translation>
    </message>
    <message>
        <source>Allow this website to configure {0} server settings?

{1}

Your user name and password will be sent to this website. Allow it only if you trust it to belong to your mail provider.</source>
        <translation>Zulassen, dass diese Website die Servereinstellungen für {0} konfiguriert?

{1}

Ihr Benutzername und Ihr Kennwort werden an diese Website gesendet. Lassen Sie es nur zu, wenn Sie sicher sind, dass sie zu Ihrem E-Mail-Anbieter gehört.</translation>
    </message>
    <message>
        <source>Autodiscover redirect</source>
        <translation>Umleitung der AutoErmittlung</translation>
    </message>
    <message>
        <source>Nothing was sent to {0}. To use a different server, choose Exchange, server URL, and enter its address (https://…/EWS/Exchange.asmx).</source>
        <translation>An {0} wurde nichts gesendet. Um einen anderen Server zu verwenden, wählen Sie „Exchange, Server-URL“ und geben Sie seine Adresse ein (https://…/EWS/Exchange.asmx).</translation>
    </message>
    <message>
        <source>Your Primary Email could not be read: {0}</source>
        <translation>Ihre primäre E-Mail-Adresse konnte nicht gelesen werden: {0}</translation>
    </message>
    <message>
        <source>To track emails and perform synchronization, your Outlook email address should be the same as your email address in Microsoft Dynamics 365 apps. Your user record in Dynamics 365 has no Primary Email; ask your administrator to set it to your mailbox address.</source>
        <translation>Um E-Mails nachzuverfolgen und die Synchronisierung durchzuführen, sollte Ihre Outlook-E-Mail-Adresse mit Ihrer E-Mail-Adresse in Microsoft Dynamics 365-Apps übereinstimmen. Ihr Benutzerdatensatz in Dynamics 365 hat keine primäre E-Mail-Adresse; bitten Sie Ihren Administrator, sie auf Ihre Postfachadresse zu setzen.</translation>
    </message>
    <message>
        <source>To track emails and perform synchronization, your Outlook email address should be the same as your email address in Microsoft Dynamics 365 apps. Your Primary Email in Dynamics 365 is {0}, the mailbox is {1}. Either use the mailbox {0}, or have the Primary Email on your user record in Dynamics 365 changed to the mailbox address.</source>
        <translation>Um E-Mails nachzuverfolgen und die Synchronisierung durchzuführen, sollte Ihre Outlook-E-Mail-Adresse mit Ihrer E-Mail-Adresse in Microsoft Dynamics 365-Apps übereinstimmen. Ihre primäre E-Mail-Adresse in Dynamics 365 ist {0}, das Postfach ist {1}. Verwenden Sie entweder das Postfach {0}, oder lassen Sie die primäre E-Mail-Adresse in Ihrem Benutzerdatensatz in Dynamics 365 auf die Postfachadresse ändern.</translation>
    </message>
    <message>
        <source>The mailbox {0} is already bound to {1} in Dynamics 365. A mailbox can belong to one user only; ask your administrator to correct the other user&apos;s mailbox record.</source>
        <translation>Das Postfach {0} ist in Dynamics 365 bereits mit {1} verknüpft. Ein Postfach kann nur einem Benutzer gehören; bitten Sie Ihren Administrator, den Postfachdatensatz des anderen Benutzers zu korrigieren.</translation>
    </message>
</context>
<context>
    <name>OfflineDecisionCard</name>
    <message>
        <source>Accounts</source>
        <translation>Firmen</translation>
    </message>
    <message>
        <source>Contacts</source>
        <translation>Kontakte</translation>
    </message>
    <message>
        <source>Leads</source>
        <translation>Leads</translation>
    </message>
    <message>
        <source>Appointments</source>
        <translation>Termine</translation>
    </message>
    <message>
        <source>Tasks</source>
        <translation>Aufgaben</translation>
    </message>
    <message>
        <source>Offline: {what} — looks like a duplicate</source>
        <translation>Offline: {what} — sieht wie ein Duplikat aus</translation>
    </message>
    <message>
        <source>Dynamics 365 found a record like the one you created offline. Create yours anyway, or discard it.</source>
        <translation>Dynamics 365 hat einen Datensatz wie den gefunden, den Sie offline erstellt haben. Erstellen Sie Ihren trotzdem, oder verwerfen Sie ihn.</translation>
    </message>
    <message>
        <source>Create &amp;anyway</source>
        <translation>&amp;Trotzdem erstellen</translation>
    </message>
    <message>
        <source>&amp;Discard</source>
        <translation>&amp;Verwerfen</translation>
    </message>
    <message>
        <source>Offline: {what} — deleted in Dynamics 365</source>
        <translation>Offline: {what} — in Dynamics 365 gelöscht</translation>
    </message>
    <message>
        <source>You changed this record offline, but it was deleted in Dynamics 365 meanwhile.</source>
        <translation>Sie haben diesen Datensatz offline geändert, aber er wurde inzwischen in Dynamics 365 gelöscht.</translation>
    </message>
    <message>
        <source>Create it a&amp;gain</source>
        <translation>&amp;Wieder erstellen</translation>
    </message>
    <message>
        <source>Dr&amp;op my change</source>
        <translation>Meine Änderung verwer&amp;fen</translation>
    </message>
    <message>
        <source>Offline: {what} — changed in Dynamics 365</source>
        <translation>Offline: {what} — in Dynamics 365 geändert</translation>
    </message>
    <message>
        <source>You deleted this record offline, but it was changed in Dynamics 365 meanwhile.</source>
        <translation>Sie haben diesen Datensatz offline gelöscht, aber er wurde inzwischen in Dynamics 365 geändert.</translation>
    </message>
    <message>
        <source>Keep &amp;mine</source>
        <translation>&amp;Meine behalten</translation>
    </message>
    <message>
        <source>Keep the &amp;server&apos;s</source>
        <translation>Die des &amp;Servers behalten</translation>
    </message>
    <message>
        <source>Offline: {what} — {field}</source>
        <translation>Offline: {what} — {field}</translation>
    </message>
    <message>
        <source>This field was changed offline and in Dynamics 365. Which value stays?</source>
        <translation>Dieses Feld wurde offline und in Dynamics 365 geändert. Welcher Wert bleibt?</translation>
    </message>
    <message>
        <source>Dynamics 365:</source>
        <translation>Dynamics 365:</translation>
    </message>
    <message>
        <source>Mine (offline):</source>
        <translation>Meiner (offline):</translation>
    </message>
</context>
<context>
    <name>OfflineFilterList</name>
    <message>
        <source>Offline filter</source>
        <translation>Offlinefilter</translation>
    </message>
    <message>
        <source>Records</source>
        <translation>Datensätze</translation>
    </message>
    <message>
        <source>Offline filters</source>
        <translation>Offlinefilter</translation>
    </message>
    <message>
        <source>Accounts</source>
        <translation>Firmen</translation>
    </message>
    <message>
        <source>Contacts</source>
        <translation>Kontakte</translation>
    </message>
    <message>
        <source>Leads</source>
        <translation>Leads</translation>
    </message>
    <message>
        <source>Appointments</source>
        <translation>Termine</translation>
    </message>
    <message>
        <source>Tasks</source>
        <translation>Aufgaben</translation>
    </message>
    <message>
        <source>Turn on to take these records offline</source>
        <translation>Einschalten, um diese Datensätze offline mitzunehmen</translation>
    </message>
    <message>
        <source>about {0}</source>
        <translation>etwa {0}</translation>
    </message>
    <message>
        <source>more than {0}</source>
        <translation>mehr als {0}</translation>
    </message>
</context>
<context>
    <name>OfflineFiltersDialog</name>
    <message>
        <source>Offline filters</source>
        <translation>Offlinefilter</translation>
    </message>
    <message>
        <source>Offline &amp;filters:</source>
        <translation>Offline&amp;filter:</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>S&amp;peichern</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>You are offline. These are the filters the records on this computer were taken offline with; you can change them when you are online again. A change applies the next time the records are refreshed.</source>
        <translation>Sie sind offline. Mit diesen Filtern wurden die Datensätze auf diesem Computer offline genommen; Sie können sie ändern, wenn Sie wieder online sind. Eine Änderung gilt ab der nächsten Aktualisierung der Datensätze.</translation>
    </message>
    <message>
        <source>Choose the records you take with you when you go offline. Each filter selects records of one table; the records they refer to go offline too. Saved changes apply the next time the records on this computer are refreshed, or when you go offline.</source>
        <translation>Wählen Sie die Datensätze, die Sie beim Offlinegehen mitnehmen. Jeder Filter wählt Datensätze einer Tabelle aus; die Datensätze, auf die sie verweisen, gehen ebenfalls offline. Gespeicherte Änderungen gelten ab der nächsten Aktualisierung der Datensätze auf diesem Computer oder wenn Sie offline gehen.</translation>
    </message>
    <message>
        <source>Reading your offline filters…</source>
        <translation>Ihre Offlinefilter werden gelesen…</translation>
    </message>
    <message>
        <source>You have no offline filters.</source>
        <translation>Sie haben keine Offlinefilter.</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>Abgebrochen.</translation>
    </message>
    <message>
        <source>Dynamics 365 cannot be reached, so the filters cannot be changed now. These are the filters as this computer last saw them.</source>
        <translation>Dynamics 365 ist nicht erreichbar, daher können die Filter jetzt nicht geändert werden. So hat dieser Computer die Filter zuletzt gesehen.</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>Schl&amp;ießen</translation>
    </message>
    <message>
        <source>No offline filters are kept on this computer.</source>
        <translation>Auf diesem Computer sind keine Offlinefilter gespeichert.</translation>
    </message>
    <message>
        <source>Saving your offline filters…</source>
        <translation>Ihre Offlinefilter werden gespeichert…</translation>
    </message>
</context>
<context>
    <name>OfflinePage</name>
    <message>
        <source>Offline</source>
        <translation>Offline</translation>
    </message>
    <message>
        <source>Choose the records you take with you when you go offline. Each filter selects records of one table; the records they refer to (parent accounts, regarding) go offline too.</source>
        <translation>Wählen Sie die Datensätze, die Sie beim Offlinegehen mitnehmen. Jeder Filter wählt Datensätze einer Tabelle aus; die Datensätze, auf die sie verweisen (übergeordnete Firmen, Bezug), gehen ebenfalls offline.</translation>
    </message>
    <message>
        <source>Counts are estimates. A table with no filter turned on stays online only. You can change this later here or with Offline filters… in the status window; going offline is in the status window and the tray.</source>
        <translation>Die Anzahlen sind Schätzungen. Eine Tabelle ohne eingeschalteten Filter bleibt nur online. Sie können das später hier oder über „Offlinefilter…“ im Statusfenster ändern; offline gehen Sie im Statusfenster und im Infobereich.</translation>
    </message>
    <message>
        <source>No organization synchronizes, so nothing can go offline. You can skip this page.</source>
        <translation>Keine Organisation synchronisiert, daher kann nichts offline gehen. Sie können diese Seite überspringen.</translation>
    </message>
    <message>
        <source>Reading your offline filters…</source>
        <translation>Ihre Offlinefilter werden gelesen…</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>Abgebrochen.</translation>
    </message>
    <message>
        <source>You have no offline filters.</source>
        <translation>Sie haben keine Offlinefilter.</translation>
    </message>
    <message>
        <source>Turning the filter on…</source>
        <translation>Der Filter wird eingeschaltet…</translation>
    </message>
    <message>
        <source>Turning the filter off…</source>
        <translation>Der Filter wird ausgeschaltet…</translation>
    </message>
</context>
<context>
    <name>OfflinePanel</name>
    <message>
        <source>Recor&amp;ds…</source>
        <translation>&amp;Datensätze…</translation>
    </message>
    <message>
        <source>Offline filt&amp;ers…</source>
        <translation>Off&amp;linefilter…</translation>
    </message>
    <message>
        <source>Choose the records you take with you when you go offline</source>
        <translation>Wählen Sie die Datensätze, die Sie beim Offlinegehen mitnehmen</translation>
    </message>
    <message>
        <source>Go o&amp;ffline</source>
        <translation>O&amp;ffline gehen</translation>
    </message>
    <message>
        <source>Offline — {0} record</source>
        <translation>Offline — {0} Datensatz</translation>
    </message>
    <message>
        <source>Offline — {0} records</source>
        <translation>Offline — {0} Datensätze</translation>
    </message>
    <message>
        <source>, last refreshed {0}</source>
        <translation>, zuletzt aktualisiert {0}</translation>
    </message>
    <message>
        <source>Offline — {0} change not yet sent; going online stopped: {1}</source>
        <translation>Offline — {0} Änderung noch nicht gesendet; das Onlinegehen wurde angehalten: {1}</translation>
    </message>
    <message>
        <source>Offline — {0} changes not yet sent; going online stopped: {1}</source>
        <translation>Offline — {0} Änderungen noch nicht gesendet; das Onlinegehen wurde angehalten: {1}</translation>
    </message>
    <message>
        <source>Dynamics 365 cannot be reached. Go offline to keep working with the {0} record on this computer.</source>
        <translation>Dynamics 365 ist nicht erreichbar. Gehen Sie offline, um mit dem {0} Datensatz auf diesem Computer weiterzuarbeiten.</translation>
    </message>
    <message>
        <source>Dynamics 365 cannot be reached. Go offline to keep working with the {0} records on this computer.</source>
        <translation>Dynamics 365 ist nicht erreichbar. Gehen Sie offline, um mit den {0} Datensätzen auf diesem Computer weiterzuarbeiten.</translation>
    </message>
    <message>
        <source>Online — {0} record on this computer</source>
        <translation>Online — {0} Datensatz auf diesem Computer</translation>
    </message>
    <message>
        <source>Online — {0} records on this computer</source>
        <translation>Online — {0} Datensätze auf diesem Computer</translation>
    </message>
    <message>
        <source>No records are kept on this computer for working offline.</source>
        <translation>Auf diesem Computer sind keine Datensätze für das Offlinearbeiten gespeichert.</translation>
    </message>
    <message>
        <source>{0} decision waiting for you</source>
        <translation>{0} Entscheidung wartet auf Sie</translation>
    </message>
    <message>
        <source>{0} decisions waiting for you</source>
        <translation>{0} Entscheidungen warten auf Sie</translation>
    </message>
    <message>
        <source>Go onl&amp;ine</source>
        <translation>Onl&amp;ine gehen</translation>
    </message>
    <message>
        <source>you cancelled it</source>
        <translation>Sie haben es abgebrochen</translation>
    </message>
    <message>
        <source>{0} change waiting to be sent</source>
        <translation>{0} Änderung wartet auf das Senden</translation>
    </message>
    <message>
        <source>{0} changes waiting to be sent</source>
        <translation>{0} Änderungen warten auf das Senden</translation>
    </message>
</context>
<context>
    <name>OfflineProgressDialog</name>
    <message>
        <source>Go offline</source>
        <translation>Offline gehen</translation>
    </message>
    <message>
        <source>Go online</source>
        <translation>Online gehen</translation>
    </message>
    <message>
        <source>Changes sent</source>
        <translation>Gesendete Änderungen</translation>
    </message>
    <message>
        <source>waiting</source>
        <translation>wartet</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>Schl&amp;ießen</translation>
    </message>
    <message>
        <source>Copying the records of your offline filters to this computer. Until you go online, your changes are kept here.</source>
        <translation>Die Datensätze Ihrer Offlinefilter werden auf diesen Computer kopiert. Bis Sie online gehen, werden Ihre Änderungen hier gespeichert.</translation>
    </message>
    <message>
        <source>Sending the changes you made offline to Dynamics 365, in the order you made them.</source>
        <translation>Ihre Offlineänderungen werden in der Reihenfolge, in der Sie sie gemacht haben, an Dynamics 365 gesendet.</translation>
    </message>
    <message>
        <source>Accounts</source>
        <translation>Firmen</translation>
    </message>
    <message>
        <source>Contacts</source>
        <translation>Kontakte</translation>
    </message>
    <message>
        <source>Leads</source>
        <translation>Leads</translation>
    </message>
    <message>
        <source>Appointments</source>
        <translation>Termine</translation>
    </message>
    <message>
        <source>Tasks</source>
        <translation>Aufgaben</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>Wird abgebrochen…</translation>
    </message>
    <message>
        <source>done</source>
        <translation>fertig</translation>
    </message>
    <message>
        <source>{0} / {1}</source>
        <translation>{0} / {1}</translation>
    </message>
    <message>
        <source>You are offline: {0} record is on this computer.</source>
        <translation>Sie sind offline: {0} Datensatz ist auf diesem Computer.</translation>
    </message>
    <message>
        <source>You are offline: {0} records are on this computer.</source>
        <translation>Sie sind offline: {0} Datensätze sind auf diesem Computer.</translation>
    </message>
    <message>
        <source>Sent: {0} created, {1} updated, {2} deleted.</source>
        <translation>Gesendet: {0} erstellt, {1} aktualisiert, {2} gelöscht.</translation>
    </message>
    <message>
        <source>Merged with changes made in Dynamics 365 meanwhile: {0}.</source>
        <translation>Mit zwischenzeitlichen Änderungen in Dynamics 365 zusammengeführt: {0}.</translation>
    </message>
    <message>
        <source>Cancelled: the changes not sent yet are kept; you are still offline.</source>
        <translation>Abgebrochen: Die noch nicht gesendeten Änderungen bleiben erhalten; Sie sind weiterhin offline.</translation>
    </message>
    <message>
        <source>Records that need your decision: {0} (see Decisions… in the Records window).</source>
        <translation>Datensätze, die Ihre Entscheidung brauchen: {0} (siehe „Entscheidungen…“ im Fenster „Datensätze“).</translation>
    </message>
    <message>
        <source>You are online.</source>
        <translation>Sie sind online.</translation>
    </message>
    <message>
        <source>Going online stopped: {0} changes not yet sent; you are still offline. Try again with Go online.</source>
        <translation>Das Onlinegehen wurde angehalten: {0} Änderungen noch nicht gesendet; Sie sind weiterhin offline. Versuchen Sie es erneut mit „Online gehen“.</translation>
    </message>
    <message>
        <source>Cancelled: nothing was changed; the records on this computer are as before.</source>
        <translation>Abgebrochen: Nichts wurde geändert; die Datensätze auf diesem Computer sind wie zuvor.</translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation>Abgebrochen.</translation>
    </message>
</context>
<context>
    <name>OptionsPage</name>
    <message>
        <source>What to synchronize</source>
        <translation>Was synchronisiert wird</translation>
    </message>
    <message>
        <source>Choose what is synchronized between Dynamics 365 and your mailbox, and how often.</source>
        <translation>Wählen Sie, was zwischen Dynamics 365 und Ihrem Postfach synchronisiert wird und wie oft.</translation>
    </message>
    <message>
        <source>Trac&amp;k:</source>
        <translation>&amp;Nachverfolgen:</translation>
    </message>
    <message>
        <source>Email messages to track in Dynamics 365</source>
        <translation>In Dynamics 365 nachzuverfolgende E-Mail-Nachrichten</translation>
    </message>
    <message>
        <source>S&amp;end email from Dynamics 365</source>
        <translation>&amp;E-Mails aus Dynamics 365 senden</translation>
    </message>
    <message>
        <source>Send the email messages you create in Dynamics 365 through your mailbox</source>
        <translation>Die in Dynamics 365 erstellten E-Mail-Nachrichten über Ihr Postfach senden</translation>
    </message>
    <message>
        <source>Synchronization filter</source>
        <translation>Synchronisierungsfilter</translation>
    </message>
    <message>
        <source>Record type</source>
        <translation>Datensatztyp</translation>
    </message>
    <message>
        <source>Your synchronization filters; checked filters are active</source>
        <translation>Ihre Synchronisierungsfilter; angehakte Filter sind aktiv</translation>
    </message>
    <message>
        <source>Your synchronization filte&amp;rs (checked = active):</source>
        <translation>Ihre Synchronisierungsfilte&amp;r (angehakt = aktiv):</translation>
    </message>
    <message>
        <source>Create the &amp;default filters</source>
        <translation>Stan&amp;dardfilter erstellen</translation>
    </message>
    <message>
        <source> minutes</source>
        <translation> Minuten</translation>
    </message>
    <message>
        <source>Synchronize e&amp;very</source>
        <translation>Synchronisierung &amp;alle</translation>
    </message>
    <message>
        <source>Synchronization interval in minutes</source>
        <translation>Synchronisierungsintervall in Minuten</translation>
    </message>
    <message>
        <source>&amp;When both sides changed the same field:</source>
        <translation>Wenn beide Seiten dasselbe Feld &amp;geändert haben:</translation>
    </message>
    <message>
        <source>When both sides changed the same field</source>
        <translation>Wenn beide Seiten dasselbe Feld geändert haben</translation>
    </message>
    <message>
        <source>Synchronization F&amp;ields…</source>
        <translation>Synchronisierungs&amp;felder…</translation>
    </message>
    <message>
        <source>No organization synchronizes: these options are kept, but nothing is synchronized.</source>
        <translation>Keine Organisation synchronisiert: Diese Optionen werden gespeichert, aber nichts wird synchronisiert.</translation>
    </message>
    <message>
        <source>Reading your options from {0}…</source>
        <translation>Ihre Optionen werden aus {0} gelesen…</translation>
    </message>
    <message>
        <source>(your organization allows {0} or more)</source>
        <translation>(Ihre Organisation erlaubt {0} oder mehr)</translation>
    </message>
    <message>
        <source>Your organization allows an interval of {1} minutes or more, so {0} minutes became {1} minutes.</source>
        <translation>Ihre Organisation erlaubt ein Intervall von {1} Minuten oder mehr, daher wurden aus {0} Minuten {1} Minuten.</translation>
    </message>
    <message>
        <source>Filter: {0}</source>
        <translation>Filter: {0}</translation>
    </message>
    <message>
        <source>No active filter: nothing is synchronized</source>
        <translation>Kein aktiver Filter: Es wird nichts synchronisiert</translation>
    </message>
    <message>
        <source>No active filter for: {0}. Nothing of those is synchronized.</source>
        <translation>Kein aktiver Filter für: {0}. Davon wird nichts synchronisiert.</translation>
    </message>
    <message>
        <source>Filter: {0} (created on the first synchronization)</source>
        <translation>Filter: {0} (wird bei der ersten Synchronisierung erstellt)</translation>
    </message>
    <message>
        <source>You have no synchronization filters yet. The default filters will be created on the first synchronization: {0}. To look at them or turn one off before that, click Create the default filters.</source>
        <translation>Sie haben noch keine Synchronisierungsfilter. Bei der ersten Synchronisierung werden die Standardfilter erstellt: {0}. Um sie vorher anzusehen oder einen davon auszuschalten, klicken Sie auf „Standardfilter erstellen“.</translation>
    </message>
    <message>
        <source>Creating the default filters…</source>
        <translation>Die Standardfilter werden erstellt…</translation>
    </message>
</context>
<context>
    <name>OrganizationsPage</name>
    <message>
        <source>Organizations</source>
        <translation>Organisationen</translation>
    </message>
    <message>
        <source>Add the Dynamics 365 organizations you work with. One of them synchronizes your email, contacts, appointments and tasks with your mailbox.</source>
        <translation>Fügen Sie die Dynamics 365-Organisationen hinzu, mit denen Sie arbeiten. Eine davon synchronisiert Ihre E-Mails, Kontakte, Termine und Aufgaben mit Ihrem Postfach.</translation>
    </message>
    <message>
        <source>Organization</source>
        <translation>Organisation</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Adresse</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Configured organizations</source>
        <translation>Konfigurierte Organisationen</translation>
    </message>
    <message>
        <source>&amp;Add…</source>
        <translation>&amp;Hinzufügen…</translation>
    </message>
    <message>
        <source>&amp;Remove</source>
        <translation>&amp;Entfernen</translation>
    </message>
    <message>
        <source>&amp;Test connection</source>
        <translation>Verbindung &amp;testen</translation>
    </message>
    <message>
        <source>S&amp;ynchronize</source>
        <translation>S&amp;ynchronisieren</translation>
    </message>
    <message>
        <source>Make the selected organization the synchronizing organization</source>
        <translation>Die ausgewählte Organisation zur Synchronisierungsorganisation machen</translation>
    </message>
    <message>
        <source>No organization yet. Click Add… to sign in to Dynamics 365 (online or on-premises) and choose your organization.</source>
        <translation>Noch keine Organisation. Klicken Sie auf „Hinzufügen…“, um sich bei Dynamics 365 (online oder lokal) anzumelden und Ihre Organisation auszuwählen.</translation>
    </message>
    <message>
        <source>The synchronizing organization</source>
        <translation>Die Synchronisierungsorganisation</translation>
    </message>
    <message>
        <source>Messaging data will not be synchronized. No organization synchronizes: select one and click Synchronize.</source>
        <translation>Nachrichtendaten werden nicht synchronisiert. Keine Organisation synchronisiert: Wählen Sie eine aus, und klicken Sie auf „Synchronisieren“.</translation>
    </message>
    <message>
        <source>Cannot connect</source>
        <translation>Keine Verbindung möglich</translation>
    </message>
    <message>
        <source>Synchronizes</source>
        <translation>Synchronisiert</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>Verbunden</translation>
    </message>
    <message>
        <source>Not tested</source>
        <translation>Nicht getestet</translation>
    </message>
    <message>
        <source>Connecting to {0}…</source>
        <translation>Verbindung mit {0} wird hergestellt…</translation>
    </message>
    <message>
        <source>Do you want to change your synchronizing organization from {0} to {1}?

Email, contacts, appointments and tasks will then be synchronized with {1} only; {0} stays available but its messaging data will not be synchronized.</source>
        <translation>Möchten Sie Ihre Synchronisierungsorganisation von {0} in {1} ändern?

E-Mails, Kontakte, Termine und Aufgaben werden dann nur noch mit {1} synchronisiert; {0} bleibt verfügbar, aber ihre Nachrichtendaten werden nicht synchronisiert.</translation>
    </message>
    <message>
        <source>Do you want to make {0} your synchronizing organization?

Email, contacts, appointments and tasks will be synchronized with {0}.</source>
        <translation>Möchten Sie {0} zu Ihrer Synchronisierungsorganisation machen?

E-Mails, Kontakte, Termine und Aufgaben werden mit {0} synchronisiert.</translation>
    </message>
    <message>
        <source>They stay on this computer and are sent when {0} synchronizes again and you go online.</source>
        <translation>Sie bleiben auf diesem Computer und werden gesendet, sobald {0} wieder synchronisiert und Sie online gehen.</translation>
    </message>
    <message>
        <source>{0} has 1 offline change that has not been sent to Dynamics 365 yet.</source>
        <translation>{0} hat 1 Offline-Änderung, die noch nicht an Dynamics 365 gesendet wurde.</translation>
    </message>
    <message>
        <source>{0} has {1} offline changes that have not been sent to Dynamics 365 yet.</source>
        <translation>{0} hat {1} Offline-Änderungen, die noch nicht an Dynamics 365 gesendet wurden.</translation>
    </message>
    <message>
        <source>Change the synchronizing organization</source>
        <translation>Synchronisierungsorganisation ändern</translation>
    </message>
    <message>
        <source>Making {0} the synchronizing organization…</source>
        <translation>{0} wird zur Synchronisierungsorganisation gemacht…</translation>
    </message>
    <message>
        <source>Remove {0} from this computer? Nothing is deleted in Dynamics 365.</source>
        <translation>{0} von diesem Computer entfernen? In Dynamics 365 wird nichts gelöscht.</translation>
    </message>
    <message>
        <source>It is your synchronizing organization: until you choose another one, messaging data will not be synchronized.</source>
        <translation>Sie ist Ihre Synchronisierungsorganisation: Bis Sie eine andere auswählen, werden keine Nachrichtendaten synchronisiert.</translation>
    </message>
    <message>
        <source>Removing it deletes them. To keep them, go online first.</source>
        <translation>Beim Entfernen werden sie gelöscht. Um sie zu behalten, gehen Sie zuerst online.</translation>
    </message>
    <message>
        <source>Remove organization</source>
        <translation>Organisation entfernen</translation>
    </message>
    <message>
        <source>Removing {0}…</source>
        <translation>{0} wird entfernt…</translation>
    </message>
    <message>
        <source>{0} is already added; it is selected in the list.</source>
        <translation>{0} ist bereits hinzugefügt; sie ist in der Liste ausgewählt.</translation>
    </message>
    <message>
        <source>{0} was added. It is your synchronizing organization.</source>
        <translation>{0} wurde hinzugefügt. Sie ist Ihre Synchronisierungsorganisation.</translation>
    </message>
    <message>
        <source>{0} was added. To synchronize with it instead, select it and click Synchronize.</source>
        <translation>{0} wurde hinzugefügt. Um stattdessen mit ihr zu synchronisieren, wählen Sie sie aus, und klicken Sie auf „Synchronisieren“.</translation>
    </message>
    <message>
        <source>{0} is now your synchronizing organization.</source>
        <translation>{0} ist jetzt Ihre Synchronisierungsorganisation.</translation>
    </message>
    <message>
        <source>{0} is now your synchronizing organization, but these could not be updated:</source>
        <translation>{0} ist jetzt Ihre Synchronisierungsorganisation, aber diese Organisationen konnten nicht aktualisiert werden:</translation>
    </message>
    <message>
        <source>They may still be marked as synchronizing. Click Synchronize again once they can be reached.</source>
        <translation>Sie sind möglicherweise noch als synchronisierend markiert. Klicken Sie erneut auf „Synchronisieren“, sobald sie erreichbar sind.</translation>
    </message>
    <message>
        <source>Can&apos;t connect to {0}: {1}</source>
        <translation>Keine Verbindung mit {0} möglich: {1}</translation>
    </message>
    <message>
        <source>Connected to {0}.</source>
        <translation>Mit {0} verbunden.</translation>
    </message>
</context>
<context>
    <name>PasswordEdit</name>
    <message>
        <source>Hide password</source>
        <translation>Kennwort ausblenden</translation>
    </message>
    <message>
        <source>Show password</source>
        <translation>Kennwort anzeigen</translation>
    </message>
</context>
<context>
    <name>RecordForm</name>
    <message>
        <source>Required</source>
        <translation>Erforderlich</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>(keine)</translation>
    </message>
    <message>
        <source>{0} is required.</source>
        <translation>{0} ist erforderlich.</translation>
    </message>
    <message>
        <source>{0} is too long: at most {1} characters.</source>
        <translation>{0} ist zu lang: höchstens {1} Zeichen.</translation>
    </message>
</context>
<context>
    <name>RecordsWindow</name>
    <message>
        <source>Records</source>
        <translation>Datensätze</translation>
    </message>
    <message>
        <source>&amp;Table:</source>
        <translation>&amp;Tabelle:</translation>
    </message>
    <message>
        <source>Name, email or phone</source>
        <translation>Name, E-Mail-Adresse oder Telefon</translation>
    </message>
    <message>
        <source>Sea&amp;rch:</source>
        <translation>Suc&amp;hen:</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>Not sent</source>
        <translation>Nicht gesendet</translation>
    </message>
    <message>
        <source>Recor&amp;ds:</source>
        <translation>&amp;Datensätze:</translation>
    </message>
    <message>
        <source>&amp;New</source>
        <translation>&amp;Neu</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>S&amp;peichern</translation>
    </message>
    <message>
        <source>D&amp;elete…</source>
        <translation>&amp;Löschen…</translation>
    </message>
    <message>
        <source>Dec&amp;isions…</source>
        <translation>&amp;Entscheidungen…</translation>
    </message>
    <message>
        <source>Offline changes that wait for your decision</source>
        <translation>Offlineänderungen, die auf Ihre Entscheidung warten</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>Schl&amp;ießen</translation>
    </message>
    <message>
        <source>Accounts</source>
        <translation>Firmen</translation>
    </message>
    <message>
        <source>Contacts</source>
        <translation>Kontakte</translation>
    </message>
    <message>
        <source>Leads</source>
        <translation>Leads</translation>
    </message>
    <message>
        <source>Appointments</source>
        <translation>Termine</translation>
    </message>
    <message>
        <source>Tasks</source>
        <translation>Aufgaben</translation>
    </message>
    <message>
        <source>Offline: your changes are kept on this computer and sent to Dynamics 365 when you go online.</source>
        <translation>Offline: Ihre Änderungen werden auf diesem Computer gespeichert und an Dynamics 365 gesendet, wenn Sie online gehen.</translation>
    </message>
    <message>
        <source>Online: your changes go straight to Dynamics 365.</source>
        <translation>Online: Ihre Änderungen gehen direkt an Dynamics 365.</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>Wird geladen…</translation>
    </message>
    <message>
        <source>(no name)</source>
        <translation>(ohne Namen)</translation>
    </message>
    <message>
        <source>Changes of this record wait to be sent to Dynamics 365</source>
        <translation>Änderungen dieses Datensatzes warten auf das Senden an Dynamics 365</translation>
    </message>
    <message>
        <source>{0} record</source>
        <translation>{0} Datensatz</translation>
    </message>
    <message>
        <source>{0} records</source>
        <translation>{0} Datensätze</translation>
    </message>
    <message>
        <source>with changes not sent: {0}</source>
        <translation>mit nicht gesendeten Änderungen: {0}</translation>
    </message>
    <message>
        <source>New record: {0}</source>
        <translation>Neuer Datensatz: {0}</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Wird gespeichert…</translation>
    </message>
    <message>
        <source>Nothing changed.</source>
        <translation>Nichts geändert.</translation>
    </message>
    <message>
        <source>Saved on this computer; it is sent when you go online.</source>
        <translation>Auf diesem Computer gespeichert; wird gesendet, wenn Sie online gehen.</translation>
    </message>
    <message>
        <source>Saved in Dynamics 365.</source>
        <translation>In Dynamics 365 gespeichert.</translation>
    </message>
    <message>
        <source>Not saved:</source>
        <translation>Nicht gespeichert:</translation>
    </message>
    <message>
        <source>Delete {0}? It is deleted in Dynamics 365 when you go online.</source>
        <translation>{0} löschen? Der Datensatz wird in Dynamics 365 gelöscht, wenn Sie online gehen.</translation>
    </message>
    <message>
        <source>Delete {0} in Dynamics 365? This cannot be undone.</source>
        <translation>{0} in Dynamics 365 löschen? Das kann nicht rückgängig gemacht werden.</translation>
    </message>
    <message>
        <source>Delete record</source>
        <translation>Datensatz löschen</translation>
    </message>
    <message>
        <source>Deleting…</source>
        <translation>Wird gelöscht…</translation>
    </message>
    <message>
        <source>{0} was deleted.</source>
        <translation>{0} wurde gelöscht.</translation>
    </message>
</context>
<context>
    <name>StatusTray</name>
    <message>
        <source>&amp;Open</source>
        <translation>&amp;Öffnen</translation>
    </message>
    <message>
        <source>&amp;Sync now</source>
        <translation>&amp;Jetzt synchronisieren</translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation>&amp;Anhalten</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation>&amp;Fortsetzen</translation>
    </message>
</context>
<context>
    <name>StatusWindow</name>
    <message>
        <source>&amp;Synchronization</source>
        <translation>&amp;Synchronisierung</translation>
    </message>
    <message>
        <source>Synchronization progress</source>
        <translation>Synchronisierungsfortschritt</translation>
    </message>
    <message>
        <source>Needs your attention</source>
        <translation>Erfordert Ihre Aufmerksamkeit</translation>
    </message>
    <message>
        <source>Conflicts and errors</source>
        <translation>Konflikte und Fehler</translation>
    </message>
    <message>
        <source>Nothing needs your attention.</source>
        <translation>Nichts erfordert Ihre Aufmerksamkeit.</translation>
    </message>
    <message>
        <source>Email</source>
        <translation>E-Mail</translation>
    </message>
    <message>
        <source>Contacts</source>
        <translation>Kontakte</translation>
    </message>
    <message>
        <source>Appointments</source>
        <translation>Termine</translation>
    </message>
    <message>
        <source>Tasks</source>
        <translation>Aufgaben</translation>
    </message>
    <message>
        <source>created</source>
        <translation>erstellt</translation>
    </message>
    <message>
        <source>tracked</source>
        <translation>nachverfolgt</translation>
    </message>
    <message>
        <source>sent</source>
        <translation>gesendet</translation>
    </message>
    <message>
        <source>updated</source>
        <translation>aktualisiert</translation>
    </message>
    <message>
        <source>deleted</source>
        <translation>gelöscht</translation>
    </message>
    <message>
        <source>unlinked</source>
        <translation>Verknüpfung aufgehoben</translation>
    </message>
    <message>
        <source>(empty)</source>
        <translation>(leer)</translation>
    </message>
    <message>
        <source>Synchronizing organization</source>
        <translation>Synchronisierungsorganisation</translation>
    </message>
    <message>
        <source>Only this organization synchronizes email, contacts, appointments and tasks</source>
        <translation>Nur diese Organisation synchronisiert E-Mails, Kontakte, Termine und Aufgaben</translation>
    </message>
    <message>
        <source>Synchronizing &amp;organization:</source>
        <translation>Synchronisierungs&amp;organisation:</translation>
    </message>
    <message>
        <source>Sync &amp;now</source>
        <translation>&amp;Jetzt synchronisieren</translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation>&amp;Anhalten</translation>
    </message>
    <message>
        <source>Open the &amp;wizard…</source>
        <translation>Assis&amp;tent öffnen…</translation>
    </message>
    <message>
        <source>&amp;Log</source>
        <translation>&amp;Protokoll</translation>
    </message>
    <message>
        <source>{host} synchronizes your mailbox, so this computer does not. To synchronize here instead, open the wizard (Computer page).</source>
        <translation>{host} synchronisiert Ihr Postfach, daher synchronisiert dieser Computer nicht. Um stattdessen hier zu synchronisieren, öffnen Sie den Assistenten (Seite Synchronisierender Computer).</translation>
    </message>
    <message>
        <source>No computer synchronizes your mailbox yet. Open the wizard and make this computer the synchronizing client on the Computer page.</source>
        <translation>Noch synchronisiert kein Computer Ihr Postfach. Öffnen Sie den Assistenten und machen Sie diesen Computer auf der Seite Synchronisierender Computer zum synchronisierenden Client.</translation>
    </message>
    <message>
        <source>Synchronize anyway?</source>
        <translation>Trotzdem synchronisieren?</translation>
    </message>
    <message>
        <source>{kind} stopped because the run would delete many items. Synchronize anyway and delete them?</source>
        <translation>{kind} wurde angehalten, weil der Lauf viele Elemente löschen würde. Trotzdem synchronisieren und sie löschen?</translation>
    </message>
    <message>
        <source>The synchronization</source>
        <translation>Die Synchronisierung</translation>
    </message>
    <message>
        <source>Waiting for the running synchronization to finish…</source>
        <translation>Warten, bis die laufende Synchronisierung beendet ist…</translation>
    </message>
    <message>
        <source>Making {0} the synchronizing organization…</source>
        <translation>{0} wird zur Synchronisierungsorganisation gemacht…</translation>
    </message>
    <message>
        <source>{0} is now your synchronizing organization, but these could not be updated:</source>
        <translation>{0} ist jetzt Ihre Synchronisierungsorganisation, aber diese konnten nicht aktualisiert werden:</translation>
    </message>
    <message>
        <source>(none: messaging data is not synchronized)</source>
        <translation>(keine: Messagingdaten werden nicht synchronisiert)</translation>
    </message>
    <message>
        <source>no synchronizing organization</source>
        <translation>keine Synchronisierungsorganisation</translation>
    </message>
    <message>
        <source>No mailbox is bound. Open the wizard to bind your mailbox.</source>
        <translation>Es ist kein Postfach verknüpft. Öffnen Sie den Assistenten, um Ihr Postfach zu verknüpfen.</translation>
    </message>
    <message>
        <source>not set up for this organization (see above)</source>
        <translation>für diese Organisation nicht eingerichtet (siehe oben)</translation>
    </message>
    <message>
        <source>this computer synchronizes</source>
        <translation>dieser Computer synchronisiert</translation>
    </message>
    <message>
        <source>{host} synchronizes, not this computer</source>
        <translation>{host} synchronisiert, nicht dieser Computer</translation>
    </message>
    <message>
        <source>no computer synchronizes yet</source>
        <translation>noch kein Computer synchronisiert</translation>
    </message>
    <message>
        <source>checking which computer synchronizes…</source>
        <translation>es wird geprüft, welcher Computer synchronisiert…</translation>
    </message>
    <message>
        <source>Mailbox {address} ({kind})</source>
        <translation>Postfach {address} ({kind})</translation>
    </message>
    <message>
        <source>Mailbox {address} ({kind}) · {who}</source>
        <translation>Postfach {address} ({kind}) · {who}</translation>
    </message>
    <message>
        <source>{text} Retrying at {time}.</source>
        <translation>{text} Neuer Versuch um {time}.</translation>
    </message>
    <message>
        <source>Account state: {state}</source>
        <translation>Kontostatus: {state}</translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation>&amp;Fortsetzen</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>Wird gestartet…</translation>
    </message>
    <message>
        <source>{kind}: starting…</source>
        <translation>{kind}: wird gestartet…</translation>
    </message>
    <message>
        <source>{kind}: {done} of {total}</source>
        <translation>{kind}: {done} von {total}</translation>
    </message>
    <message>
        <source>{kind}: {done}</source>
        <translation>{kind}: {done}</translation>
    </message>
</context>
<context>
    <name>SummaryPage</name>
    <message>
        <source>Summary</source>
        <translation>Zusammenfassung</translation>
    </message>
    <message>
        <source>Click Finish to save these settings and write your options to Dynamics 365.</source>
        <translation>Klicken Sie auf „Abschließen“, um diese Einstellungen zu speichern und Ihre Optionen in Dynamics 365 zu schreiben.</translation>
    </message>
    <message>
        <source>{0} (synchronizes)</source>
        <translation>{0} (synchronisiert)</translation>
    </message>
    <message>
        <source>Organizations</source>
        <translation>Organisationen</translation>
    </message>
    <message>
        <source>none</source>
        <translation>keine</translation>
    </message>
    <message>
        <source>Messaging data will not be synchronized: no organization synchronizes.</source>
        <translation>Nachrichtendaten werden nicht synchronisiert: Keine Organisation synchronisiert.</translation>
    </message>
    <message>
        <source>Mailbox</source>
        <translation>Postfach</translation>
    </message>
    <message>
        <source>none bound — nothing is synchronized with a mailbox</source>
        <translation>keines verknüpft – nichts wird mit einem Postfach synchronisiert</translation>
    </message>
    <message>
        <source>This computer</source>
        <translation>Dieser Computer</translation>
    </message>
    <message>
        <source>Synchronize</source>
        <translation>Synchronisieren</translation>
    </message>
    <message>
        <source>nothing</source>
        <translation>nichts</translation>
    </message>
    <message>
        <source>Track</source>
        <translation>Nachverfolgen</translation>
    </message>
    <message>
        <source>Send email from Dynamics 365</source>
        <translation>E-Mails aus Dynamics 365 senden</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>ja</translation>
    </message>
    <message>
        <source>no</source>
        <translation>nein</translation>
    </message>
    <message>
        <source>Interval</source>
        <translation>Intervall</translation>
    </message>
    <message>
        <source>every {0} minutes</source>
        <translation>alle {0} Minuten</translation>
    </message>
    <message>
        <source>Conflicts</source>
        <translation>Konflikte</translation>
    </message>
    <message>
        <source>Filters</source>
        <translation>Filter</translation>
    </message>
    <message>
        <source>{0} to activate, {1} to deactivate</source>
        <translation>{0} zu aktivieren, {1} zu deaktivieren</translation>
    </message>
    <message>
        <source>Saving your settings…</source>
        <translation>Ihre Einstellungen werden gespeichert…</translation>
    </message>
</context>
<context>
    <name>SyncFieldsDialog</name>
    <message>
        <source>Synchronization Fields</source>
        <extracomment>Dataverse language codes (LCID) of the UI languages, for the organization&apos;s column labels</extracomment>
        <translation>Synchronisierungsfelder</translation>
    </message>
    <message>
        <source>&amp;Record type:</source>
        <translation>&amp;Datensatztyp:</translation>
    </message>
    <message>
        <source>Dynamics 365 field</source>
        <translation>Dynamics 365-Feld</translation>
    </message>
    <message>
        <source>Direction</source>
        <translation>Richtung</translation>
    </message>
    <message>
        <source>Mailbox field</source>
        <translation>Postfachfeld</translation>
    </message>
    <message>
        <source>Synchronized fields</source>
        <translation>Synchronisierte Felder</translation>
    </message>
    <message>
        <source>Arrows show where changes go. Fields locked by your administrator can&apos;t be changed.</source>
        <translation>Pfeile zeigen, wohin Änderungen übertragen werden. Von Ihrem Administrator gesperrte Felder können nicht geändert werden.</translation>
    </message>
    <message>
        <source>Restore &amp;defaults</source>
        <translation>Standard&amp;werte wiederherstellen</translation>
    </message>
    <message>
        <source>{0} (locked)</source>
        <translation>{0} (gesperrt)</translation>
    </message>
    <message>
        <source>Direction of {0}</source>
        <translation>Richtung von {0}</translation>
    </message>
    <message>
        <source>Locked by your administrator</source>
        <translation>Von Ihrem Administrator gesperrt</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <source>Welcome to the Configuration Wizard</source>
        <translation>Willkommen beim Konfigurations-Assistenten</translation>
    </message>
    <message>
        <source>Connect this computer to Dynamics 365 and your mailbox, the way Dynamics 365 for Outlook did.</source>
        <translation>Verbinden Sie diesen Computer mit Dynamics 365 und Ihrem Postfach, so wie es Dynamics 365 für Outlook getan hat.</translation>
    </message>
    <message>
        <source>&lt;p&gt;d365sync keeps your &lt;b&gt;email, contacts, appointments and tasks&lt;/b&gt; in step between your mailbox (Exchange, Exchange Online, or POP3 for email only) and one Dynamics 365 organization: the &lt;i&gt;synchronizing organization&lt;/i&gt;.&lt;/p&gt;&lt;p&gt;In the next steps you will add your organizations, choose the one that synchronizes, bind your primary mailbox, decide whether this computer synchronizes, and choose what to synchronize.&lt;/p&gt;&lt;p&gt;&lt;b&gt;What this wizard changes in Dynamics 365&lt;/b&gt;&lt;/p&gt;&lt;ul&gt;&lt;li&gt;Your &lt;b&gt;mailbox record&lt;/b&gt;: the email address, the delivery methods for incoming and outgoing email, and the flag that marks your synchronizing organization (it is cleared in your other organizations).&lt;/li&gt;&lt;li&gt;The &lt;b&gt;synchronizing computer&lt;/b&gt;: a note on your mailbox record naming the one computer that synchronizes for you.&lt;/li&gt;&lt;li&gt;Your &lt;b&gt;personal options&lt;/b&gt;: which incoming email is tracked, how often to synchronize, and your synchronization filters.&lt;/li&gt;&lt;/ul&gt;&lt;p&gt;The steps you start with a button (&lt;i&gt;Synchronize&lt;/i&gt;, &lt;i&gt;Bind this mailbox&lt;/i&gt;, &lt;i&gt;Make this computer the synchronizing client&lt;/i&gt;, &lt;i&gt;Create the default filters&lt;/i&gt;) take effect at once; your options are written when you click &lt;b&gt;Finish&lt;/b&gt;. Nothing else is changed. Passwords are kept in your system&apos;s keyring, never in a file.&lt;/p&gt;</source>
        <translation>&lt;p&gt;d365sync hält Ihre &lt;b&gt;E-Mails, Kontakte, Termine und Aufgaben&lt;/b&gt; zwischen Ihrem Postfach (Exchange, Exchange Online oder POP3 nur für E-Mails) und einer Dynamics 365-Organisation auf dem gleichen Stand: der &lt;i&gt;Synchronisierungsorganisation&lt;/i&gt;.&lt;/p&gt;&lt;p&gt;In den nächsten Schritten fügen Sie Ihre Organisationen hinzu, wählen die synchronisierende aus, verknüpfen Ihr primäres Postfach, legen fest, ob dieser Computer synchronisiert, und wählen aus, was synchronisiert wird.&lt;/p&gt;&lt;p&gt;&lt;b&gt;Was dieser Assistent in Dynamics 365 ändert&lt;/b&gt;&lt;/p&gt;&lt;ul&gt;&lt;li&gt;Ihren &lt;b&gt;Postfachdatensatz&lt;/b&gt;: die E-Mail-Adresse, die Übermittlungsmethoden für eingehende und ausgehende E-Mails und die Kennzeichnung Ihrer Synchronisierungsorganisation (sie wird in Ihren anderen Organisationen entfernt).&lt;/li&gt;&lt;li&gt;Den &lt;b&gt;synchronisierenden Computer&lt;/b&gt;: eine Notiz in Ihrem Postfachdatensatz, die den einen Computer nennt, der für Sie synchronisiert.&lt;/li&gt;&lt;li&gt;Ihre &lt;b&gt;persönlichen Optionen&lt;/b&gt;: welche eingehenden E-Mails nachverfolgt werden, wie oft synchronisiert wird und Ihre Synchronisierungsfilter.&lt;/li&gt;&lt;/ul&gt;&lt;p&gt;Die Schritte, die Sie mit einer Schaltfläche starten (&lt;i&gt;Synchronisieren&lt;/i&gt;, &lt;i&gt;Dieses Postfach verknüpfen&lt;/i&gt;, &lt;i&gt;Diesen Computer zum synchronisierenden Client machen&lt;/i&gt;, &lt;i&gt;Standardfilter erstellen&lt;/i&gt;), werden sofort wirksam; Ihre Optionen werden geschrieben, wenn Sie auf &lt;b&gt;Abschließen&lt;/b&gt; klicken. Sonst wird nichts geändert. Kennwörter werden im Schlüsselbund Ihres Systems gespeichert, nie in einer Datei.&lt;/p&gt;</translation>
    </message>
</context>
<context>
    <name>options</name>
    <message>
        <source>All email messages</source>
        <translation>Alle E-Mail-Nachrichten</translation>
    </message>
    <message>
        <source>Email messages in response to Dynamics 365 email</source>
        <translation>E-Mail-Nachrichten als Antwort auf Dynamics 365-E-Mails</translation>
    </message>
    <message>
        <source>Email messages from Dynamics 365 Leads, Contacts and Accounts</source>
        <translation>E-Mail-Nachrichten von Dynamics 365-Leads, -Kontakten und -Firmen</translation>
    </message>
    <message>
        <source>Email messages from Dynamics 365 records that are email enabled</source>
        <translation>E-Mail-Nachrichten von Dynamics 365-Datensätzen mit aktivierter E-Mail</translation>
    </message>
    <message>
        <source>No email messages</source>
        <translation>Keine E-Mail-Nachrichten</translation>
    </message>
    <message>
        <source>Dynamics 365 wins</source>
        <translation>Dynamics 365 gewinnt</translation>
    </message>
    <message>
        <source>The mailbox wins</source>
        <translation>Das Postfach gewinnt</translation>
    </message>
    <message>
        <source>The newest change wins</source>
        <translation>Die neueste Änderung gewinnt</translation>
    </message>
    <message>
        <source>Ask me</source>
        <translation>Mich fragen</translation>
    </message>
    <message>
        <source>Email</source>
        <translation>E-Mail</translation>
    </message>
    <message>
        <source>Contacts</source>
        <translation>Kontakte</translation>
    </message>
    <message>
        <source>Appointments</source>
        <translation>Termine</translation>
    </message>
    <message>
        <source>Tasks</source>
        <translation>Aufgaben</translation>
    </message>
    <message>
        <source>My Outlook Contacts</source>
        <translation>Meine Outlook-Kontakte</translation>
    </message>
    <message>
        <source>My Appointments</source>
        <translation>Meine Termine</translation>
    </message>
    <message>
        <source>My Tasks</source>
        <translation>Meine Aufgaben</translation>
    </message>
    <message>
        <source>⇄  Both ways</source>
        <translation>⇄  In beide Richtungen</translation>
    </message>
    <message>
        <source>→  To the mailbox</source>
        <translation>→  Zum Postfach</translation>
    </message>
    <message>
        <source>←  To Dynamics 365</source>
        <translation>←  Zu Dynamics 365</translation>
    </message>
    <message>
        <source>✕  Not synchronized</source>
        <translation>✕  Nicht synchronisiert</translation>
    </message>
</context>
</TS>
