"""Import every model so that the metadata is complete (migrations, tests)."""

from pim.catalog import models as catalog  # noqa: F401
from pim.db import Base
from pim.jobs import models as jobs  # noqa: F401
from pim.publishing import models as publishing  # noqa: F401
from pim.structure import models as structure  # noqa: F401
from pim.versioning import models as versioning  # noqa: F401

metadata = Base.metadata
