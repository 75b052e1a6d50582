"""A real OpenLDAP server (Debian's slapd) for the directory sign-in tests: a configuration and a database folder made
here (checked by slaptest), a seeded directory loaded offline (slapadd), then `slapd -h ldap://127.0.0.1:PORT` in the foreground
on a free loopback port. Never the system's slapd service.

The seeded hospital: dc=hospital,dc=example with people under ou=people, groupOfNames groups under ou=groups, a
service account the backend binds as, and one account locked by the password-policy overlay (a disabled
account: slapd refuses its bind)."""

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SLAPD = Path("/usr/sbin/slapd")
SLAPTEST = Path("/usr/sbin/slaptest")
SLAPADD = Path("/usr/sbin/slapadd")
SUFFIX = "dc=hospital,dc=example"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SERVICE_DN = f"cn=blindread,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service-bind-pw-71"

# uid -> (given name, surname, password, groups)
PEOPLE_SEED = {
    "dr.rossi": ("Maria", "Rossi", "rossi-pw-4411", ["radiology"]),
    "prof.bianchi": ("Luca", "Bianchi", "bianchi-pw-8120", ["ct-researchers", "radiology"]),
    "ct.lead": ("Anna", "Verdi", "verdi-pw-3307", ["ct-study-admins"]),
    "dr.locked": ("Paolo", "Neri", "neri-pw-5502", ["radiology"]),
    # The same name as the local superuser of the tests: must never take that account over.
    "admin": ("Directory", "Admin", "directory-admin-pw-1", ["ct-study-admins"]),
}
LOCKED = {"dr.locked"}
GROUP_NAMES = ("radiology", "ct-researchers", "ct-study-admins")
# The role map the tests configure (SSO_ROLE_MAP).
ROLE_MAP = {"ct-study-admins": "admin", "ct-researchers": "researcher", "radiology": "reader"}

CONFIG = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile {root}/slapd.pid
database mdb
suffix "{suffix}"
rootdn "cn=root,{suffix}"
rootpw root-pw-not-used-by-the-app
directory {root}/data
maxsize 16777216
overlay ppolicy
ppolicy_default "cn=default,ou=policies,{suffix}"
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
"""


def _entries() -> str:
    blocks = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: hospital\no: Example Hospital",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services",
        f"dn: ou=policies,{SUFFIX}\nobjectClass: organizationalUnit\nou: policies",
        f"dn: cn=default,ou=policies,{SUFFIX}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: default\n"
        "pwdAttribute: userPassword\npwdLockout: TRUE",
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: blindread\n"
        f"userPassword: {SERVICE_PASSWORD}",
    ]
    for uid, (given, surname, password, _) in PEOPLE_SEED.items():
        block = (
            f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {given} {surname}\n"
            f"givenName: {given}\nsn: {surname}\nmail: {uid}@hospital.example\nuserPassword: {password}"
        )
        if uid in LOCKED:
            block += "\npwdAccountLockedTime: 000001010000Z"  # locked until an administrator unlocks it
        blocks.append(block)
    for group in GROUP_NAMES:
        members = [f"member: uid={uid},{PEOPLE}" for uid, seed in PEOPLE_SEED.items() if group in seed[3]]
        blocks.append(
            f"dn: cn={group},{GROUPS}\nobjectClass: groupOfNames\ncn: {group}\n" + "\n".join(members)
        )
    return "\n\n".join(blocks) + "\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DirectoryServer:
    uri: str
    port: int
    process: subprocess.Popen

    def settings(self) -> dict:
        """The Django settings that point the sign-in at this directory (as LDAP_* variables would)."""
        from accounts.sso_settings import ldap_settings

        return ldap_settings(
            {
                "LDAP_SERVER_URI": self.uri,
                "LDAP_BIND_DN": SERVICE_DN,
                "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
                "LDAP_USER_SEARCH_BASE": PEOPLE,
                "LDAP_USER_FILTER": "(uid=%(user)s)",
                "LDAP_GROUP_SEARCH_BASE": GROUPS,
                "LDAP_GROUP_TYPE": "groupOfNames",
                "LDAP_TIMEOUT": "2",
            }
        )


def start(root: Path) -> DirectoryServer:
    for tool in (SLAPD, SLAPTEST, SLAPADD):
        if not tool.exists():
            raise FileNotFoundError(f"{tool} is missing (apt-get install slapd ldap-utils)")
    (root / "data").mkdir(parents=True)
    conf = root / "slapd.conf"
    conf.write_text(CONFIG.format(root=root, suffix=SUFFIX))
    (root / "seed.ldif").write_text(_entries())

    def run(*command):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(f"{command[0]} failed: {done.stderr.strip() or done.stdout.strip()}")

    run(str(SLAPTEST), "-u", "-f", str(conf))
    run(str(SLAPADD), "-f", str(conf), "-b", SUFFIX, "-l", str(root / "seed.ldif"))
    port = free_port()
    uri = f"ldap://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(SLAPD), "-d", "0", "-f", str(conf), "-h", uri],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"slapd stopped at start: {process.stderr.read().decode(errors='replace')[-2000:]}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return DirectoryServer(uri=uri, port=port, process=process)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("slapd did not answer within 20 s")


def stop(server: DirectoryServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def available() -> bool:
    return (
        all(tool.exists() for tool in (SLAPD, SLAPTEST, SLAPADD)) and shutil.which("ldapwhoami") is not None
    )
