#!/usr/bin/env python3
"""Generates a labeled corpus of credential files: our own counterpart of a public repository of
leaked credential files (netrc, pgpass, git-credentials, shadow and htpasswd hashes, Kerberos and
NTLM dumps, framework secrets, saved sessions of FTP/SSH/database clients, package-manager
credentials, connection strings). Each file holds labeled secrets (strong and weak passwords,
keys, hashes) and labeled placeholders that must stay unreported.

    tools/accuracy/credentials.py OUT_DIR [SEED]

Writes OUT_DIR/corpus/... and OUT_DIR/labels.json in the format of gen.py, so score.py scores it:

    python3 tools/accuracy/credentials.py /tmp/cred 13 && \\
      target/release/ndaguard scan /tmp/cred/corpus --no-progress -f json -o /tmp/cred/nd.json; \\
      python3 tools/accuracy/score.py /tmp/cred/labels.json ndaguard=/tmp/cred/nd.json

It is a regression check written by the same people as the rules, not a measure of recall on
files nobody here wrote. Every value comes from the seed; none is a real credential.
"""
import base64, json, os, random, sys

OUT = sys.argv[1]
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 13
r = random.Random(SEED)
AN = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HEX = "0123456789abcdef"
CRYPT = "./" + AN
AVOID = ["example", "xxx", "test", "fake", "dummy", "sample", "1234", "abcd", "secret", "token", "your",
         "pass", "demo", "mock", "todo", "here", "admin", "user", "root", "none", "null"]
WORDS = ["tulip", "kestrel", "harbor", "falcon", "maple", "osprey", "wombat", "lantern", "cobalt",
         "juniper", "granite", "meadow", "saffron", "thistle", "copper", "willow", "bramble", "heron"]
PLACEHOLDERS = ["changeme", "<password>", "${DB_PASSWORD}", "%(password)s", "{{ db_password }}", "********",
                "xxx", "example", "your_password", "dummy", "test"]
secrets, negatives = [], []


def rs(chars, n):
    while True:
        s = "".join(r.choice(chars) for _ in range(n))
        if not any(a in s.lower() for a in AVOID):
            return s


def weak():
    """A weak, human-chosen password: a word, a number, maybe a mark."""
    w = r.choice(WORDS)
    w = w.capitalize() if r.random() < 0.5 else w
    return w + str(r.randrange(10, 3000)) + r.choice(["", "", "!", "#"])


def strong(n=20):
    return rs(AN, n)


def pw():
    return weak() if r.random() < 0.5 else strong(r.randrange(12, 28))


def user():
    return r.choice(["deploy", "ci", "app", "backup_svc", "reporting", "ops", "jenkins", "web"]) + str(r.randrange(1, 99))


def host():
    return f"{r.choice(['db', 'files', 'git', 'sftp', 'mq', 'build'])}{r.randrange(1, 30)}.{r.choice(['corp', 'internal', 'lan'])}.net"


def b64(n):
    return base64.b64encode(bytes(r.randrange(256) for _ in range(n))).decode()


class File:
    """Lines of one corpus file; `s(line, kind)` labels a secret, `n(line, kind)` a placeholder."""

    def __init__(self, path):
        self.path, self.lines = path, []

    def add(self, line):
        self.lines.append(line)

    def _label(self, out, line, **kind):
        self.lines.append(line)
        out.append({"path": self.path, "line": len(self.lines), **kind})

    def s(self, line, kind):
        self._label(secrets, line, provider=kind)

    def n(self, line, kind):
        self._label(negatives, line, kind=kind)

    def write(self):
        full = os.path.join(OUT, "corpus", self.path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def crypt_hash(kind):
    salt = rs(CRYPT, 16)
    return {
        "md5": f"$1${salt[:8]}${rs(CRYPT, 22)}",
        "apr1": f"$apr1${salt[:8]}${rs(CRYPT, 22)}",
        "bcrypt": f"$2{r.choice('aby')}${r.choice(['10', '12'])}${rs(CRYPT, 53)}",
        "sha256": f"$5$rounds=5000${salt}${rs(CRYPT, 43)}",
        "sha512": f"$6${salt}${rs(CRYPT, 86)}",
        "yescrypt": f"$y$j9T${rs(CRYPT, 22)}${rs(CRYPT, 43)}",
        "argon2id": f"$argon2id$v=19$m=65536,t=3,p=4${b64(16).rstrip('=')}${b64(32).rstrip('=')}",
    }[kind]


def des_hash():
    while True:
        h = rs(CRYPT, 13)
        if not (h.isalpha() and (h.islower() or h.isupper())):
            return h


def django_hash():
    digest = lambda n: base64.b64encode(bytes(r.randrange(256) for _ in range(n))).decode()
    return r.choice([f"pbkdf2_sha256${r.choice([260000, 600000, 870000])}${rs(AN, 22)}${digest(32)}",
                     f"pbkdf2_sha1$36000${rs(AN, 12)}${digest(20)}",
                     f"argon2$argon2id$v=19$m=102400,t=2,p=8${b64(16).rstrip('=')}${b64(32).rstrip('=')}"])


def werkzeug_hash():
    hexd = lambda n: bytes(r.randrange(256) for _ in range(n)).hex()
    return r.choice([f"pbkdf2:sha256:600000${rs(AN, 16)}${hexd(32)}", f"scrypt:32768:8:1${rs(AN, 16)}${hexd(64)}"])


def netntlmv2():
    hexu = lambda n: bytes(r.randrange(256) for _ in range(n)).hex().upper()
    return f"{user()}::{r.choice(['CORP', 'AD'])}:{rs(HEX, 16)}:{hexu(16)}:0101000000000000{hexu(r.randrange(60, 140))}"


def hashes(i):
    f = File(f"dumps/host{i}/etc/shadow")
    f.n("daemon:*:19683:0:99999:7:::", "locked-account")
    for kind in ["sha512", "yescrypt", "md5"]:
        f.s(f"{user()}:{crypt_hash(kind)}:19{r.randrange(100, 999)}:0:99999:7:::", f"shadow-{kind}")
    f.n("nobody:!:19683::::::", "locked-account")
    f.s(f"{user()}:{des_hash()}:18{r.randrange(100, 999)}:0:99999:7:::", "shadow-des")
    f.write()
    f = File(f"images/img{i}/Dockerfile")
    f.add("FROM debian:12")
    f.s(f"RUN echo '{user()}:{des_hash()}:19000:0:99999:7:::' >> /etc/shadow", "shadow-des-dockerfile")
    f.n("RUN echo 'svc:!:19000:0:99999:7:::' >> /etc/shadow", "locked-account")
    f.write()
    f = File(f"fixtures/app{i}/users.json")
    f.s(json.dumps({"model": "auth.user", "pk": i + 1, "fields": {"username": user(), "password": django_hash()}}),
        "django-password-hash")
    f.write()
    f = File(f"seeds/flask{i}/seed.py")
    f.s(f"users.insert(name='{user()}', password_hash='{werkzeug_hash()}')", "werkzeug-password-hash")
    f.n("users.insert(name='guest', password_hash=generate_password_hash(os.environ['GUEST_PW']))", "hash-call")
    f.write()
    f = File(f"loot/op{i}/Responder-Session.log")
    f.add(f"[SMB] NTLMv2-SSP Client   : 10.0.{i}.{r.randrange(2, 250)}")
    f.s(f"[SMB] NTLMv2-SSP Hash     : {netntlmv2()}", "netntlmv2")
    f.write()
    f = File(f"sites/site{i}/.htpasswd")
    f.s(f"{user()}:{crypt_hash('apr1')}", "htpasswd-apr1")
    f.s(f"{user()}:{crypt_hash('bcrypt')}", "htpasswd-bcrypt")
    f.s(f"{user()}:{{SHA}}{b64(20)}", "htpasswd-sha1")
    f.write()
    f = File(f"seeds/app{i}/users.sql")
    f.s(f"INSERT INTO users (email, password) VALUES ('{user()}@corp.net', '{crypt_hash('bcrypt')}');", "bcrypt-seed")
    f.s(f"INSERT INTO users (email, password) VALUES ('{user()}@corp.net', '{crypt_hash('argon2id')}');", "argon2-seed")
    f.s(f"INSERT INTO users (email, password) VALUES ('{user()}@corp.net', '{crypt_hash('sha256')}');", "sha256crypt-seed")
    f.write()
    f = File(f"loot/op{i}/roast.txt")
    realm = r.choice(["CORP.INTERNAL", "AD.LAN"])
    f.s(f"$krb5asrep$23${user()}@{realm}:{rs(HEX, 32)}${rs(HEX, 232)}", "kerberos-asrep")
    f.s(f"$krb5tgs$23$*{user()}${realm}$MSSQLSvc/{host()}:1433*${rs(HEX, 32)}${rs(HEX, 280)}", "kerberos-tgs")
    f.write()
    f = File(f"loot/op{i}/ntds.dit.txt")
    f.n("Guest:501:aad3b435b51404eeaad3b435b51404ee:31d6cfe0d16ae931b73c59d7e0c089c0:::", "empty-nt-hash")
    f.s(f"{user()}:{r.randrange(1100, 9000)}:aad3b435b51404eeaad3b435b51404ee:{rs(HEX, 32)}:::", "ntlm-pwdump")
    f.write()


def credential_files(i):
    f = File(f"home/u{i}/.netrc")
    f.s(f"machine {host()} login {user()} password {pw()}", "netrc")
    f.n(f"machine {host()} login anonymous password {r.choice(['changeme', '$FTP_PASSWORD'])}", "netrc-placeholder")
    f.write()
    f = File(f"home/u{i}/.pgpass")
    f.s(f"{host()}:5432:shop:{user()}:{pw()}", "pgpass")
    f.n("# hostname:port:database:username:password", "pgpass-comment")
    f.n(f"localhost:5432:*:app:{r.choice(['changeme', 'app'])}", "pgpass-placeholder")
    f.write()
    f = File(f"home/u{i}/.git-credentials")
    f.s(f"https://{user()}:{pw()}@{host()}", "git-credentials")
    f.write()
    f = File(f"home/u{i}/.s3cfg")
    f.add("[default]")
    f.add(f"host_base = {host()}")
    f.s(f"secret_key = {rs(AN + '/+', 40)}", "s3cfg")
    f.write()
    f = File(f"home/u{i}/.yarnrc.yml")
    f.add(f'npmRegistryServer: "https://{host()}"')
    f.s(f'npmAuthToken: "{rs(AN, 36)}"', "yarnrc")
    f.write()
    f = File(f"home/u{i}/.terraformrc")
    f.add(f'credentials "{host()}" {{')
    f.s(f'  token = "{rs(AN, 40)}"', "terraformrc")
    f.add("}")
    f.write()
    f = File(f"home/u{i}/.cargo/credentials.toml")
    f.add("[registries.internal]")
    f.s(f'token = "{rs(AN, 32)}"', "cargo-credentials")
    f.write()
    f = File(f"home/u{i}/.gem/credentials")
    f.add("---")
    f.s(f":rubygems_api_key: {rs(HEX, 32)}", "gem-credentials")
    f.write()
    f = File(f"apps/svc{i}/.env")
    f.s(f"BUNDLE_GEMS__CONTRIBSYS__COM={rs(HEX, 8)}:{rs(HEX, 8)}", "bundler")
    f.s(f"DB_PASSWORD={weak()}", "dotenv-weak-password")
    f.n(f"REDIS_PASSWORD={r.choice(PLACEHOLDERS)}", "env-placeholder")
    f.n("BUNDLE_BUILD__NOKOGIRI=--use-system-libraries", "bundler-setting")
    f.write()
    f = File(f"home/u{i}/.dockercfg")
    f.s(json.dumps({host(): {"auth": base64.b64encode(f"{user()}:{pw()}".encode()).decode(), "email": "ci@corp.net"}}),
        "dockercfg")
    f.write()
    f = File(f"home/u{i}/.pypirc")
    f.add("[internal]")
    f.add(f"repository = https://{host()}/simple")
    f.add(f"username = {user()}")
    f.s(f"password = {pw()}", "pypirc")
    f.write()
    f = File(f"apps/svc{i}/connections.txt")
    f.s(f"Driver={{ODBC Driver 18 for SQL Server}};Server=tcp:{host()},1433;Database=shop;Uid={user()};Pwd={pw()};Encrypt=yes;", "odbc")
    f.s(f"Server={host()};Database=shop;User Id={user()};Password={pw()};", "ado")
    f.s(f"jdbc:sqlserver://{host()}:1433;databaseName=shop;user={user()};password={pw()};", "jdbc")
    f.s(f"smb://{user()}:{pw()}@{host()}/share", "url-userinfo")
    f.n(f"jdbc:postgresql://{host()}/shop?user=app&password=${{DB_PASSWORD}}", "jdbc-placeholder")
    f.write()
    f = File(f"home/u{i}/.pgpass.placeholders/.pgpass")
    f.n("*:*:*:app:<password>", "pgpass-placeholder")
    f.write()


def frameworks(i):
    f = File(f"django{i}/project/settings.py")
    f.s(f"SECRET_KEY = '{rs('abcdefghijklmnopqrstuvwxyz0123456789!@#%^&*(-_=+)', 50)}'", "django-secret-key")
    f.n("SECRET_KEY = os.environ['DJANGO_SECRET_KEY']", "env-lookup")
    f.write()
    f = File(f"laravel{i}/.env")
    f.s(f"APP_KEY=base64:{b64(32)}", "laravel-app-key")
    f.s(f"DB_PASSWORD={pw()}", "laravel-db-password")
    f.n("MAIL_PASSWORD=null", "env-placeholder")
    f.write()
    f = File(f"rails{i}/config/master.key")
    f.s(rs(HEX, 32), "rails-master-key")
    f.write()
    f = File(f"rails{i}/config/secrets.yml")
    f.add("production:")
    f.s(f"  secret_key_base: {rs(HEX, 128)}", "rails-secret-key-base")
    f.add("development:")
    f.n('  secret_key_base: <%= ENV["SECRET_KEY_BASE"] %>', "erb-placeholder")
    f.n('  stripe_secret_key: <%= ENV["STRIPE_SECRET_KEY"] %>', "erb-placeholder")
    f.n(f"  mailer_host: mail.{host()}", "hostname")
    f.add("staging:")
    f.s(f"  payment_api_key: {rs(AN, 32)}", "rails-secrets-yml")
    f.s(f"  oauth_client_secret: \"{rs(HEX, 40)}\"", "rails-secrets-yml")
    f.write()
    f = File(f"wordpress{i}/wp-config.php")
    f.add("<?php")
    f.s(f"define( 'DB_PASSWORD', '{pw()}' );", "wordpress-db-password")
    salt = "".join(r.choice([chr(c) for c in range(33, 127) if chr(c) not in "'\\"]) for _ in range(64))
    f.s(f"define( 'AUTH_KEY',         '{salt}' );", "wordpress-salt")
    f.n("define( 'NONCE_KEY',        'put your unique phrase here' );", "wordpress-placeholder")
    f.write()
    f = File(f"php{i}/config/database.php")
    f.add("<?php return [")
    f.add(f"    'host' => '{host()}',")
    f.s(f"    'password' => '{pw()}',", "php-array-password")
    f.n("    'password' => env('DB_PASSWORD'),", "php-env")
    f.add("];")
    f.write()


def sessions(i):
    f = File(f"appdata/u{i}/FileZilla/sitemanager.xml")
    f.add('<?xml version="1.0" encoding="UTF-8"?>')
    f.add(f"<FileZilla3><Servers><Server><Host>{host()}</Host><User>{user()}</User>")
    f.s(f'<Pass encoding="base64">{base64.b64encode(pw().encode()).decode()}</Pass>', "filezilla")
    f.add("</Server></Servers></FileZilla3>")
    f.write()
    f = File(f"appdata/u{i}/WinSCP.ini")
    f.add(f"[Sessions\\{user()}@{host()}]")
    f.s(f"Password={rs('0123456789ABCDEF', 60)}", "winscp")
    f.write()
    f = File(f"appdata/u{i}/remmina/{rs(HEX, 8)}.remmina")
    f.add("[remmina]")
    f.add(f"server={host()}")
    f.s(f"password={b64(24)}", "remmina")
    f.write()
    f = File(f"appdata/u{i}/DBeaverData/workspace6/.metadata/data-sources.json")
    f.s(json.dumps({"connections": {"pg-1": {"configuration": {"host": host(), "user": user(), "password": pw()}}}}), "dbeaver")
    f.write()
    # DBeaver encrypts credentials-config.json (AES-CBC: a 16-byte IV, then the ciphertext):
    # random bytes, one labeled secret on line 1 (where the file starts).
    path = f"appdata/u{i}/DBeaverData/workspace6/General/.dbeaver/credentials-config.json"
    secrets.append({"path": path, "line": 1, "provider": "dbeaver-credentials-config"})
    full = os.path.join(OUT, "corpus", path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as fh:
        fh.write(bytes(r.randrange(256) for _ in range(16 * r.randrange(5, 12))))
    f = File(f"projects/p{i}/sftp-config.json")
    f.add("{")
    f.add(f'    "host": "{host()}",')
    f.s(f'    "password": "{pw()}",', "sftp-config")
    f.n('    "ssh_key_file": "~/.ssh/id_rsa",', "key-path")
    f.add("}")
    f.write()
    f = File(f"appdata/u{i}/robomongo.json")
    f.s(json.dumps({"connections": [{"credentials": [{"userName": user(), "userPassword": pw()}]}]}), "robomongo")
    f.write()
    f = File(f"jenkins{i}/credentials.xml")
    f.add("<com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>")
    f.add(f"  <username>{user()}</username>")
    f.s(f"  <password>{{AQAAABAAAAAQ{b64(48)}}}</password>", "jenkins")
    f.add("</com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>")
    f.add("<com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>")
    f.add(f"  <username>{user()}</username>")
    f.s(f"  <password>{b64(r.choice([16, 32, 48]))}</password>", "jenkins-legacy")
    f.add("</com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl>")
    f.n("  <password>${JENKINS_DEPLOY_PASSWORD}</password>", "jenkins-placeholder")
    f.write()
    f = File(f"azure{i}/site.PublishSettings")
    f.s(f'<publishData><publishProfile profileName="site - Web Deploy" publishMethod="MSDeploy" userName="$site{i}" '
        + 'userPWD="' + rs(AN, 60) + f'" destinationAppUrl="http://site{i}.azurewebsites.net" /></publishData>',
        "azure-publish-profile")
    f.write()


for i in range(8):
    hashes(i)
    credential_files(i)
    frameworks(i)
    sessions(i)
with open(os.path.join(OUT, "labels.json"), "w") as fh:
    json.dump({"secrets": secrets, "negatives": negatives}, fh, indent=1)
print(f"{len(secrets)} secrets, {len(negatives)} placeholders in {OUT}/corpus")
