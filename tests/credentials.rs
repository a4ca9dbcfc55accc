//! Credential files and formats (netrc, pgpass, shadow and htpasswd hashes, Kerberos and NTLM
//! dumps, package-manager credentials, framework secrets): generated files give a finding of
//! the format's rule; the same files holding placeholders give none.

use crate::common::{scan_json, Gen, Tree};

const CRYPT: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const B64: &[u8] = b"+/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Scans `files` (path, content) in a fresh tree and returns, per file, the rule ids reported.
fn scan(files: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let tree = Tree::new();
    for (path, content) in files {
        tree.write(path, format!("{content}\n"));
    }
    let dir = tree.path().to_string_lossy().into_owned();
    let (_, json, stderr) = scan_json(&[&dir, "--no-progress"]);
    let findings = json["findings"].as_array().unwrap_or_else(|| panic!("no findings array: {stderr}")).clone();
    files
        .iter()
        .map(|(path, _)| {
            let mut ids: Vec<String> = findings
                .iter()
                .filter(|f| f["path"].as_str() == Some(path.as_str()))
                .filter_map(|f| f["rule_id"].as_str().map(str::to_string))
                .collect();
            ids.sort();
            ids.dedup();
            (path.clone(), ids)
        })
        .collect()
}

#[test]
fn generated_credential_files_are_reported_by_their_rules() {
    let mut g = Gen::new(0x00c4_ed5f_11e5_0013);
    let (salt, hex) = (g.chars(CRYPT, 16), g.hex(32));
    let sha512 = format!("${}${}${}", 6, salt, g.chars(CRYPT, 86));
    let bcrypt = format!("${}${}${}", "2y", 10, g.chars(CRYPT, 53));
    let weak = format!("harbor{}", g.digits(2));
    let cases: Vec<(String, String, &str)> = vec![
        ("etc/shadow".into(), format!("deploy:{sha512}:19683:0:99999:7:::"), "crypt-password-hash"),
        ("site/.htpasswd".into(), format!("ops:{bcrypt}"), "crypt-password-hash"),
        ("site/old/.htpasswd".into(), format!("ops:{{SHA}}{}=", g.alnum(27)), "htpasswd-hash"),
        (
            "loot/asrep.txt".into(),
            format!("${}$23$svc@CORP.LAN:{}${}", "krb5asrep", g.hex(32), g.hex(232)),
            "kerberos-asrep-hash",
        ),
        (
            "loot/tgs.txt".into(),
            format!("${}$23$*svc$CORP.LAN$http/web.corp.lan*${}${}", "krb5tgs", g.hex(32), g.hex(280)),
            "kerberos-tgs-hash",
        ),
        ("loot/ntds.txt".into(), format!("svc:1104:{}:{}:::", g.hex(32), g.hex(32)), "ntlm-pwdump-hash"),
        ("home/.pgpass".into(), format!("db.corp.lan:5432:shop:app:{}", g.alnum(16)), "pgpass-password"),
        ("home/u/.pgpass".into(), format!("*:*:*:app:{weak}"), "password-pgpass"),
        ("home/.netrc".into(), format!("machine ftp.corp.lan login ops password {weak}"), "password-netrc"),
        ("app/config/master.key".into(), hex, "rails-master-key"),
        ("app/.env".into(), format!("BUNDLE_GEMS__CONTRIBSYS__COM={}:{}", g.hex(8), g.hex(8)), "bundler-credentials"),
        ("home/.s3cfg".into(), format!("[default]\nsecret_key = {}", g.alnum(40)), "s3cfg-secret-key"),
        ("home/.yarnrc.yml".into(), format!("npmAuthToken: \"{}\"", g.alnum(36)), "yarnrc-auth-token"),
        ("home/.gem/credentials".into(), format!(":rubygems_api_key: {}", g.hex(32)), "gem-credentials-api-key"),
        ("backup/etc/shadow".into(), format!("ftp:{}:18000:0:99999:7:::", g.chars(CRYPT, 13)), "shadow-des-hash"),
        (
            "image/Dockerfile".into(),
            format!("RUN echo 'legacy:{}:18000:0:99999:7:::' >> /etc/shadow", g.chars(CRYPT, 13)),
            "shadow-des-hash",
        ),
        (
            "fixtures/users.json".into(),
            format!(
                "{{\"model\": \"auth.user\", \"fields\": {{\"password\": \"{}${}${}${}=\"}}}}",
                "pbkdf2_sha256",
                870_000,
                g.alnum(22),
                g.chars(B64, 43)
            ),
            "web-framework-password-hash",
        ),
        (
            "seeds/seed.py".into(),
            format!("add_user('ops', '{}:{}${}${}')", "pbkdf2:sha256", 600_000, g.alnum(16), g.hex(64)),
            "web-framework-password-hash",
        ),
        (
            "loot/Responder-Session.log".into(),
            format!(
                "[SMB] NTLMv2-SSP Hash     : svc::CORP:{}:{}:{}{}",
                g.hex(16),
                g.hex(32).to_ascii_uppercase(),
                "0101000000000000",
                g.hex(120).to_ascii_uppercase()
            ),
            "netntlmv2-hash",
        ),
    ];
    let files: Vec<(String, String)> = cases.iter().map(|(p, c, _)| (p.clone(), c.clone())).collect();
    for ((path, got), (_, content, want)) in scan(&files).into_iter().zip(&cases) {
        assert_eq!(got, vec![want.to_string()], "{path}: {content}");
    }
}

#[test]
fn credential_files_holding_placeholders_are_not_reported() {
    let files: Vec<(String, String)> = [
        ("etc/shadow", "daemon:*:19683:0:99999:7:::\nnobody:!:19683::::::"),
        ("home/.pgpass", "# hostname:port:database:username:password\nlocalhost:5432:*:app:changeme\n*:*:*:app:app"),
        ("home/.netrc", "machine ftp.corp.lan login anonymous password $FTP_PASSWORD\nmachine b login c password xxx"),
        (
            "app/.env",
            "BUNDLE_GEMS__CONTRIBSYS__COM=${SIDEKIQ_CREDENTIALS}\nBUNDLE_BUILD__NOKOGIRI=--use-system-libraries",
        ),
        ("loot/ntds.txt", "Guest:501:aad3b435b51404eeaad3b435b51404ee:31d6cfe0d16ae931b73c59d7e0c089c0:::"),
        ("home/.yarnrc.yml", "npmAuthToken: \"${NPM_TOKEN}\""),
        ("app/config/master.key", "<paste the key here>"),
        ("backup/etc/shadow", "svc:!!:18000:0:99999:7:::\nadmin:administrator:18000:0:99999:7:::"),
        ("docs/hashers.md", "Django stores `pbkdf2_sha256$<iterations>$<salt>$<hash>`."),
        ("docs/ntlm.md", "hashcat -m 5600 user::domain:challenge:hmac:blob"),
    ]
    .iter()
    .map(|(p, c)| (p.to_string(), c.to_string()))
    .collect();
    for (path, got) in scan(&files) {
        assert!(got.is_empty(), "{path}: {got:?}");
    }
}

#[test]
fn generated_framework_secrets_and_saved_sessions_are_reported_by_their_rules() {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut g = Gen::new(0x00c4_ed5f_11e5_0014);
    let django = g.chars(b"abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)", 50);
    let key: Vec<u8> = (0..32).map(|_| g.next() as u8).collect();
    let salt =
        g.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*()-_[]{}<>~+=,.;:/?|", 64);
    let weak = format!("kestrel{}", g.digits(3));
    let jenkins: Vec<u8> = (0..48).map(|_| g.next() as u8).collect();
    let cases: Vec<(String, String, &str)> = vec![
        ("site/settings.py".into(), format!("SECRET_KEY = '{django}'"), "django-secret-key"),
        ("shop/.env".into(), format!("APP_KEY=base64:{}", b64(&key)), "laravel-app-key"),
        (
            "app/config/secrets.yml".into(),
            format!("production:\n  secret_key_base: {}", g.hex(128)),
            "rails-secret-key-base",
        ),
        ("blog/wp-config.php".into(), format!("<?php\ndefine( 'NONCE_SALT', '{salt}' );"), "wordpress-auth-key"),
        (
            "FileZilla/sitemanager.xml".into(),
            format!(
                "<Server><Host>f.corp.lan</Host><Pass encoding=\"base64\">{}</Pass></Server>",
                b64(weak.as_bytes())
            ),
            "filezilla-saved-password",
        ),
        (
            "WinSCP.ini".into(),
            format!("[Sessions\\ops@h]\nPassword={}", g.hex(60).to_ascii_uppercase()),
            "winscp-saved-password",
        ),
        ("remmina/rdp.remmina".into(), format!("[remmina]\npassword={}", b64(&key[..24])), "remmina-saved-password"),
        ("proj/sftp-config.json".into(), format!("{{\n  \"password\": \"{weak}\",\n}}"), "sftp-config-password"),
        (
            "robomongo.json".into(),
            format!("{{\"userName\": \"ops\", \"userPassword\": \"{weak}\"}}"),
            "robomongo-saved-password",
        ),
        (
            "jenkins/credentials.xml".into(),
            format!("<password>{{AQAAABAAAAAQ{}}}</password>", b64(&jenkins)),
            "jenkins-encrypted-secret",
        ),
        (
            "site.PublishSettings".into(),
            format!("<publishProfile userName=\"$site\" userPWD=\"{}\" />", g.alnum(60)),
            "azure-publish-profile-password",
        ),
        (
            "legacy/config/secrets.yml".into(),
            format!("production:\n  payment_api_key: {}", g.alnum(32)),
            "rails-secrets-yml",
        ),
        (
            "old-jenkins/credentials.xml".into(),
            format!("<username>ci</username>\n<password>{}</password>", b64(&jenkins[..32])),
            "jenkins-legacy-secret",
        ),
        (
            "home/.dockercfg".into(),
            format!("{{\"r.corp.lan\": {{\"auth\": \"{}\"}}}}", b64(&key[..21])),
            "docker-config-auth",
        ),
    ];
    let files: Vec<(String, String)> = cases.iter().map(|(p, c, _)| (p.clone(), c.clone())).collect();
    for ((path, got), (_, content, want)) in scan(&files).into_iter().zip(&cases) {
        assert_eq!(got, vec![want.to_string()], "{path}: {content}");
    }
}

#[test]
fn framework_and_session_files_holding_placeholders_are_not_reported() {
    let files: Vec<(String, String)> = [
        ("site/settings.py", "SECRET_KEY = os.environ['DJANGO_SECRET_KEY']"),
        ("shop/.env", "APP_KEY=\nDB_PASSWORD=null"),
        ("app/config/secrets.yml", "production:\n  secret_key_base: <%= ENV[\"SECRET_KEY_BASE\"] %>"),
        ("blog/wp-config.php", "<?php\ndefine( 'AUTH_KEY', 'put your unique phrase here' );"),
        ("FileZilla/sitemanager.xml", "<Server><Host>f.corp.lan</Host><Pass encoding=\"base64\" /></Server>"),
        ("proj/sftp-config.json", "{\n  \"password\": \"changeme\",\n}"),
        ("robomongo.json", "{\"userName\": \"ops\", \"userPassword\": \"\"}"),
        ("site.PublishSettings", "<publishProfile userName=\"$site\" userPWD=\"$(PublishPassword)\" />"),
        (
            "legacy/config/secrets.yml",
            "production:\n  payment_api_key: <%= ENV[\"PAYMENT_API_KEY\"] %>\n  mailer_host: mail.db12.corp.net",
        ),
        ("old-jenkins/credentials.xml", "<password>${JENKINS_PASSWORD}</password>"),
    ]
    .iter()
    .map(|(p, c)| (p.to_string(), c.to_string()))
    .collect();
    for (path, got) in scan(&files) {
        assert!(got.is_empty(), "{path}: {got:?}");
    }
}

#[test]
fn dbeaver_credentials_are_read_even_when_binary_and_other_binary_files_are_not() {
    let mut g = Gen::new(0x00c4_ed5f_11e5_0015);
    // AES-CBC output: a 16-byte IV and the ciphertext, with NUL bytes as random bytes have.
    let mut cipher: Vec<u8> = (0..112).map(|_| g.next() as u8).collect();
    cipher[5] = 0;
    let tree = Tree::new();
    tree.write("DBeaverData/workspace6/General/.dbeaver/credentials-config.json", &cipher);
    tree.write("assets/blob.bin", &cipher);
    let dir = tree.path().to_string_lossy().into_owned();
    let (_, json, stderr) = scan_json(&[&dir, "--no-progress"]);
    let findings = json["findings"].as_array().unwrap_or_else(|| panic!("no findings array: {stderr}"));
    let found: Vec<(&str, &str)> =
        findings.iter().filter_map(|f| Some((f["path"].as_str()?, f["rule_id"].as_str()?))).collect();
    assert_eq!(
        found,
        vec![("DBeaverData/workspace6/General/.dbeaver/credentials-config.json", "dbeaver-saved-credentials")]
    );
    let skipped = json["skipped"].as_array().unwrap_or_else(|| panic!("no skipped array: {stderr}"));
    assert!(skipped.iter().any(|s| s["path"] == "assets/blob.bin" && s["reason"] == "binary"), "{skipped:?}");
}
