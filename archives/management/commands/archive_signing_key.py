"""Make a new Ed25519 key pair for signing study archives, printed as the settings that hold it."""

from django.core.management.base import BaseCommand, CommandError

from archives.signing import SigningKeyInvalid, new_signing_key


class Command(BaseCommand):
    help = (
        "Print a new archive signing key: ARCHIVE_SIGNING_KEY (secret: this site's settings only) and the "
        "ARCHIVE_TRUSTED_KEYS entry that other sites add to verify this site's archives. Nothing is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("key_id", help="A name for the key, e.g. the site and year: hospital-a-2026")

    def handle(self, *args, key_id, **options):
        try:
            key, private_text = new_signing_key(key_id)
        except SigningKeyInvalid as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"ARCHIVE_SIGNING_KEY_ID={key.key_id}")
        self.stdout.write(f"ARCHIVE_SIGNING_KEY={private_text}")
        self.stdout.write(f"# for other sites: ARCHIVE_TRUSTED_KEYS={key.key_id}={key.public_text()}")
