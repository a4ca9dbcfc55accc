#!/usr/bin/env python3
"""Generates a labeled accuracy corpus: realistic files in many languages and config formats with
planted fake secrets of many providers (true positives) and hard negatives (placeholders,
templates, environment lookups, documented example values, lockfile hashes, go.sum, UUIDs, git
SHAs, image data URLs, public keys, minified identifiers, tokens with bad checksums).

    tools/accuracy/gen.py OUT_DIR [SEED]

Writes OUT_DIR/corpus/... and OUT_DIR/labels.json: {"secrets": [{path, line, provider}],
"negatives": [{path, line, kind}]}. Every value is generated from the seed; none is a real
credential (checksummed formats get valid checksums so that they look real to a scanner).
"""
import base64, json, os, random, sys, zlib

OUT = sys.argv[1]
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else 2026
r = random.Random(SEED)
AN = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HEX = "0123456789abcdef"
B64 = AN + "+/"
B64U = AN + "-_"
AVOID = ["example", "xxxx", "test", "fake", "dummy", "sample", "1234", "abcd", "secret", "token", "your"]


def rs(chars, n):
    while True:
        s = "".join(r.choice(chars) for _ in range(n))
        if not any(a in s.lower() for a in AVOID):
            return s


def b62(n, w=6):
    out = ""
    while n:
        out = AN[n % 62] + out
        n //= 62
    return out.rjust(w, "0")


def crc(prefix):
    body = rs(AN, 30)
    return prefix + body + b62(zlib.crc32(body.encode()))


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt():
    h = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    p = b64url(json.dumps({"sub": rs("0123456789", 8), "role": "service"}).encode())
    return f"{h}.{p}.{rs(B64U, 43)}"


def pem(label, lines=10):
    body = base64.b64encode(bytes(r.randrange(256) for _ in range(48 * lines))).decode()
    return [f"-----BEGIN {label}-----"] + [body[i:i + 64] for i in range(0, len(body), 64)] + [f"-----END {label}-----"]


def pypi():
    return "pypi-" + b64url(b"\x02\x01\x08pypi.org\x02" + bytes(r.randrange(256) for _ in range(100)))


# provider -> (variable name, generator). Single-line secrets.
P = {
    "github-classic": ("GITHUB_TOKEN", lambda: crc("ghp_")),
    "github-oauth": ("GH_OAUTH_TOKEN", lambda: crc("gho_")),
    "github-app": ("GH_APP_TOKEN", lambda: crc("ghs_")),
    "github-fine-grained": ("GH_PAT", lambda: f"github_pat_{rs(AN, 22)}_{rs(AN, 59)}"),
    "gitlab": ("GITLAB_TOKEN", lambda: "glpat-" + rs(B64U, 20)),
    "gitlab-trigger": ("GITLAB_TRIGGER", lambda: "glptt-" + rs(HEX, 40)),
    "slack-bot": ("SLACK_BOT_TOKEN", lambda: f"xoxb-{rs('0123456789', 12)}-{rs('0123456789', 13)}-{rs(AN, 24)}"),
    "slack-user": ("SLACK_USER_TOKEN", lambda: f"xoxp-{rs('0123456789', 12)}-{rs('0123456789', 12)}-{rs('0123456789', 13)}-{rs(HEX, 32)}"),
    "slack-webhook": ("SLACK_WEBHOOK_URL", lambda: f"https://hooks.slack.com/services/T{rs(AN.upper()[:36], 10)}/B{rs(AN.upper()[:36], 10)}/{rs(AN, 24)}"),
    "stripe-live": ("STRIPE_SECRET_KEY", lambda: "sk_live_" + rs(AN, 24)),
    "stripe-restricted": ("STRIPE_RESTRICTED_KEY", lambda: "rk_live_" + rs(AN, 24)),
    "stripe-webhook": ("STRIPE_WEBHOOK_SECRET", lambda: "whsec_" + rs(AN, 32)),
    "aws-access-key-id": ("AWS_ACCESS_KEY_ID", lambda: "AKIA" + rs("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
    "aws-secret": ("AWS_SECRET_ACCESS_KEY", lambda: rs(B64, 40)),
    "google-api-key": ("GOOGLE_API_KEY", lambda: "AIza" + rs(B64U, 35)),
    "google-oauth-secret": ("GOOGLE_CLIENT_SECRET", lambda: "GOCSPX-" + rs(B64U, 28)),
    "azure-ad-secret": ("AZURE_CLIENT_SECRET", lambda: rs(AN, 3) + "8Q~" + rs(AN + "_.-", 34)),
    "twilio": ("TWILIO_AUTH_TOKEN", lambda: rs(HEX, 32)),
    "sendgrid": ("SENDGRID_API_KEY", lambda: f"SG.{rs(B64U, 22)}.{rs(B64U, 43)}"),
    "mailgun": ("MAILGUN_API_KEY", lambda: "key-" + rs(HEX, 32)),
    "mailchimp": ("MAILCHIMP_API_KEY", lambda: rs(HEX, 32) + "-us14"),
    "npm": ("NPM_TOKEN", lambda: crc("npm_")),
    "pypi": ("PYPI_TOKEN", pypi),
    "dockerhub": ("DOCKERHUB_TOKEN", lambda: "dckr_pat_" + rs(B64U, 27)),
    "openai": ("OPENAI_API_KEY", lambda: f"sk-proj-{rs(B64U, 74)}T3BlbkFJ{rs(B64U, 74)}"),
    "anthropic": ("ANTHROPIC_API_KEY", lambda: f"sk-ant-api03-{rs(B64U, 93)}AA"),
    "huggingface": ("HF_TOKEN", lambda: "hf_" + rs(AN[10:], 34)),
    "shopify": ("SHOPIFY_ACCESS_TOKEN", lambda: "shpat_" + rs(HEX, 32)),
    "square": ("SQUARE_ACCESS_TOKEN", lambda: "EAAA" + rs(B64U, 60)),
    "digitalocean": ("DIGITALOCEAN_TOKEN", lambda: "dop_v1_" + rs(HEX, 64)),
    "heroku": ("HEROKU_API_KEY", lambda: "HRKU-AA" + rs(B64U, 58)),
    "datadog": ("DD_API_KEY", lambda: rs(HEX, 32)),
    "newrelic": ("NEW_RELIC_API_KEY", lambda: "NRAK-" + rs(AN.upper()[:36], 27)),
    "sentry": ("SENTRY_AUTH_TOKEN", lambda: "sntryu_" + rs(HEX, 64)),
    "grafana": ("GRAFANA_TOKEN", lambda: f"glsa_{rs(AN, 32)}_{rs(HEX, 8)}"),
    "discord-webhook": ("DISCORD_WEBHOOK", lambda: f"https://discord.com/api/webhooks/{rs('0123456789', 19)}/{rs(B64U, 68)}"),
    "telegram": ("TELEGRAM_BOT_TOKEN", lambda: f"{rs('0123456789', 10)}:AA{rs(B64U, 33)}"),
    "atlassian": ("JIRA_API_TOKEN", lambda: f"ATATT3xFfGF0{rs(B64U, 170)}={rs('0123456789ABCDEF', 8)}"),
    "linear": ("LINEAR_API_KEY", lambda: "lin_api_" + rs(AN, 40)),
    "vault": ("VAULT_TOKEN", lambda: "hvs." + rs(B64U, 91)),
    "terraform": ("TFE_TOKEN", lambda: f"{rs(AN, 14)}.atlasv1.{rs(B64U, 67)}"),
    "doppler": ("DOPPLER_TOKEN", lambda: "dp.st." + rs(AN, 43)),
    "databricks": ("DATABRICKS_TOKEN", lambda: "dapi" + rs(HEX, 32)),
    "postman": ("POSTMAN_API_KEY", lambda: f"PMAK-{rs(HEX, 24)}-{rs(HEX, 34)}"),
    "jwt": ("SUPABASE_SERVICE_ROLE_KEY", jwt),
    "postgres-url": ("DATABASE_URL", lambda: f"postgres://app:{rs(AN, 20)}@db.prod.internal:5432/app"),
    "mysql-url": ("MYSQL_URL", lambda: f"mysql://web:{rs(AN, 18)}@mysql.prod.internal:3306/shop"),
    "mongodb-url": ("MONGO_URI", lambda: f"mongodb+srv://api:{rs(AN, 24)}@cluster0.ab1cd.mongodb.net/prod"),
    "redis-url": ("REDIS_URL", lambda: f"rediss://default:{rs(AN, 32)}@cache.prod.internal:6379"),
    "amqp-url": ("BROKER_URL", lambda: f"amqps://worker:{rs(AN, 22)}@mq.prod.internal:5671"),
    "url-credentials": ("PROXY_URL", lambda: f"http://svc-build:{rs(AN, 18)}@proxy.corp.net:3128"),
    "age": ("SOPS_AGE_KEY", lambda: "AGE-SECRET-KEY-1" + rs("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)),
    "generic-password": ("db_password", lambda: rs(AN, 8) + rs("0123456789", 2) + rs(AN, 6)),
    "cloudflare": ("CLOUDFLARE_API_TOKEN", lambda: rs(B64U, 40)),
    "alibaba": ("ALIBABA_ACCESS_KEY_ID", lambda: "LTAI" + rs(AN, 20)),
    "planetscale": ("PLANETSCALE_TOKEN", lambda: "pscale_tkn_" + rs(B64U, 43)),
    "groq": ("GROQ_API_KEY", lambda: "gsk_" + rs(AN, 52)),
    "notion": ("NOTION_TOKEN", lambda: "ntn_" + rs(AN, 46)),
    "figma": ("FIGMA_TOKEN", lambda: "figd_" + rs(B64U, 40)),
    "pulumi": ("PULUMI_ACCESS_TOKEN", lambda: "pul-" + rs(HEX, 40)),
    "sonarqube": ("SONAR_TOKEN", lambda: "squ_" + rs(HEX, 40)),
    "contentful": ("CONTENTFUL_TOKEN", lambda: "CFPAT-" + rs(B64U, 43)),
}

NEGATIVES = {
    "placeholder": lambda: r.choice(["YOUR_API_KEY_HERE", "<your-token>", "changeme", "xxxxxxxxxxxxxxxxxxxxxxxx", "REPLACE_ME", "sk_live_XXXXXXXXXXXXXXXXXXXXXXXX"]),
    "template": lambda: r.choice(["{{ .Values.apiKey }}", "${API_KEY}", "{{ secrets.DEPLOY_TOKEN }}", "%(password)s", "$(DB_PASSWORD)"]),
    "env-lookup": lambda: r.choice(["os.environ['API_KEY']", "process.env.STRIPE_KEY", "System.getenv(\"TOKEN\")", "ENV.fetch('SECRET_KEY_BASE')"]),
    "doc-example": lambda: r.choice(["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"]),
    "uuid": lambda: f"{rs(HEX, 8)}-{rs(HEX, 4)}-4{rs(HEX, 3)}-a{rs(HEX, 3)}-{rs(HEX, 12)}",
    "git-sha": lambda: rs(HEX, 40),
    "bad-checksum": lambda: (lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"))(crc("ghp_")),
    "identifier": lambda: r.choice(["get_user_password_hash", "SECRET_KEY_SETTING_NAME", "apiKeyFromConfig", "tokenRefreshIntervalMs"]),
    "short-value": lambda: rs(AN, 5),
}
NEG_NAMES = {"placeholder": "API_KEY", "template": "password", "env-lookup": "token", "doc-example": "aws_access_key_id",
             "uuid": "client_id", "git-sha": "commit_sha", "bad-checksum": "GITHUB_TOKEN", "identifier": "secret_name",
             "short-value": "token"}

FORMATS = {
    "py": lambda k, v: f'{k} = "{v}"',
    "js": lambda k, v: f"const {k} = '{v}';",
    "go": lambda k, v: f'\t{k} := "{v}"',
    "yaml": lambda k, v: f"  {k.lower()}: {v}",
    "json": lambda k, v: f'  "{k.lower()}": "{v}",',
    "env": lambda k, v: f"{k}={v}",
    "sh": lambda k, v: f"export {k}={v}",
    "tf": lambda k, v: f'  {k.lower()} = "{v}"',
    "rb": lambda k, v: f"{k} = '{v}'",
    "properties": lambda k, v: f"{k.lower().replace('_', '.')}={v}",
}
FILLER = {
    "py": ["import os", "def handler(event, context):", "    return {'status': 200}", "# configuration", "TIMEOUT = 30"],
    "js": ["import express from 'express';", "export function start(app) {", "  app.listen(3000);", "}", "// settings"],
    "go": ["package config", "func Load() error {", "\treturn nil", "}", "// Settings for the service."],
    "yaml": ["service:", "  name: billing", "  replicas: 3", "  image: registry.internal/billing:1.4.2", "env:"],
    "json": ["{", '  "name": "billing",', '  "version": "1.4.2",', '  "debug": false,', "}"],
    "env": ["APP_ENV=production", "LOG_LEVEL=info", "PORT=8080", "# service settings"],
    "sh": ["#!/bin/sh", "set -eu", "cd /srv/app", "exec ./server"],
    "tf": ['resource "aws_instance" "web" {', '  ami = "ami-0c55b159cbfafe1f0"', '  instance_type = "t3.micro"', "}"],
    "rb": ["require 'json'", "class Billing", "  def run; end", "end"],
    "properties": ["server.port=8080", "spring.application.name=billing", "logging.level.root=INFO"],
}
EXT_NAME = {"env": ".env", "properties": "application.properties"}

labels = {"secrets": [], "negatives": []}
root = os.path.join(OUT, "corpus")


def write(rel, lines):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write("\n".join(lines) + "\n")


n_file = 0
for provider, (name, gen) in sorted(P.items()):
    for copy in range(3):
        fmt = r.choice(list(FORMATS))
        n_file += 1
        lines = list(r.sample(FILLER[fmt], min(3, len(FILLER[fmt]))))
        fname = EXT_NAME.get(fmt, f"config{n_file}.{fmt}")
        rel = f"svc{n_file % 17}/{provider}/{fname}"
        if provider == "aws-secret":
            lines.append(FORMATS[fmt]("AWS_ACCESS_KEY_ID", P["aws-access-key-id"][1]()))
            labels["secrets"].append({"path": rel, "line": len(lines), "provider": "aws-access-key-id"})
        lines.append(FORMATS[fmt](name, gen()))
        labels["secrets"].append({"path": rel, "line": len(lines), "provider": provider})
        lines += r.sample(FILLER[fmt], min(2, len(FILLER[fmt])))
        write(rel, lines)

# Multi-line secrets.
for label, provider in [("RSA PRIVATE KEY", "rsa-private-key"), ("EC PRIVATE KEY", "ec-private-key"),
                        ("OPENSSH PRIVATE KEY", "openssh-private-key"), ("PRIVATE KEY", "pkcs8-private-key"),
                        ("PGP PRIVATE KEY BLOCK", "pgp-private-key")]:
    for copy in range(2):
        rel = f"keys/{provider}-{copy}.pem"
        write(rel, pem(label))
        labels["secrets"].append({"path": rel, "line": 1, "provider": provider})
sa = {"type": "service_account", "project_id": "billing-prod", "private_key_id": rs(HEX, 40),
      "private_key": "\n".join(pem("PRIVATE KEY")) + "\n", "client_email": "svc@billing-prod.iam.gserviceaccount.com"}
write("gcp/service-account.json", json.dumps(sa, indent=2).split("\n"))
labels["secrets"].append({"path": "gcp/service-account.json", "line": 5, "provider": "gcp-service-account"})
k8s = ["apiVersion: v1", "kind: Secret", "metadata:", "  name: db", "type: Opaque", "data:",
       "  username: " + base64.b64encode(b"app").decode(), "  password: " + base64.b64encode(rs(AN, 18).encode()).decode()]
write("k8s/db-secret.yaml", k8s)
labels["secrets"].append({"path": "k8s/db-secret.yaml", "line": 8, "provider": "kubernetes-secret"})
write("scripts/call.sh", ["#!/bin/sh", f'curl -H "Authorization: Basic {base64.b64encode(("deploy:" + rs(AN, 16)).encode()).decode()}" https://api.internal.net/v1'])
labels["secrets"].append({"path": "scripts/call.sh", "line": 2, "provider": "basic-auth"})

# Hard negatives.
n = 0
for kind, gen in sorted(NEGATIVES.items()):
    for copy in range(4):
        fmt = r.choice(list(FORMATS))
        n += 1
        lines = list(r.sample(FILLER[fmt], min(3, len(FILLER[fmt]))))
        rel = f"negatives/{kind}/{EXT_NAME.get(fmt, f'n{n}.{fmt}')}"
        lines.append(FORMATS[fmt](NEG_NAMES[kind], gen()))
        labels["negatives"].append({"path": rel, "line": len(lines), "kind": kind})
        write(rel, lines)
# Lockfiles, go.sum, data URLs, public keys, minified code.
write("negatives/lock/package-lock.json", ["{", '  "packages": {', '    "node_modules/left-pad": {',
      f'      "integrity": "sha512-{base64.b64encode(bytes(r.randrange(256) for _ in range(64))).decode()}"', "    }", "  }", "}"])
labels["negatives"].append({"path": "negatives/lock/package-lock.json", "line": 4, "kind": "lockfile-hash"})
write("negatives/go/go.sum", [f"github.com/pkg/errors v0.9.1 h1:{base64.b64encode(bytes(r.randrange(256) for _ in range(32))).decode()}"])
labels["negatives"].append({"path": "negatives/go/go.sum", "line": 1, "kind": "go-sum"})
write("negatives/web/logo.css", [f".logo {{ background: url(data:image/png;base64,{base64.b64encode(bytes(r.randrange(256) for _ in range(300))).decode()}); }}"])
labels["negatives"].append({"path": "negatives/web/logo.css", "line": 1, "kind": "data-url-image"})
write("negatives/keys/id_ed25519.pub", [f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rs(B64, 43)} dev@laptop"])
labels["negatives"].append({"path": "negatives/keys/id_ed25519.pub", "line": 1, "kind": "public-key"})
write("negatives/keys/server.pub.pem", pem("PUBLIC KEY"))
labels["negatives"].append({"path": "negatives/keys/server.pub.pem", "line": 1, "kind": "public-key"})
write("negatives/web/app.min.js", [";".join(f"function {rs('abcdefghijklmnop', 2)}{i}(a,b){{return a.{rs('abcdefgh', 3)}(b)}}" for i in range(400))])
labels["negatives"].append({"path": "negatives/web/app.min.js", "line": 1, "kind": "minified"})

with open(os.path.join(OUT, "labels.json"), "w") as f:
    json.dump(labels, f, indent=1)
print(f"{len(labels['secrets'])} planted secrets of {len({s['provider'] for s in labels['secrets']})} providers, "
      f"{len(labels['negatives'])} hard negatives in {root}")
