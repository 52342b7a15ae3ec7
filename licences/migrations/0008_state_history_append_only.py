from django.db import migrations

from certification.db import append_only


class Migration(migrations.Migration):
    dependencies = [("licences", "0007_holder_row_version")]
    operations = [append_only("licences_licencestatechange")]
