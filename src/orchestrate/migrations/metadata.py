"""Import every module that defines tables so ``Base.metadata`` knows them all."""

from __future__ import annotations

from sqlalchemy import MetaData

import orchestrate.agents.tables
import orchestrate.auth.tables
import orchestrate.autonomy.tables
import orchestrate.changesets.tables
import orchestrate.ci.tables
import orchestrate.core.events.tables
import orchestrate.core.jobs.tables
import orchestrate.costs.tables
import orchestrate.delivery.tables
import orchestrate.monitoring.alerts.tables
import orchestrate.monitoring.channels.tables
import orchestrate.monitoring.tables
import orchestrate.pipelines.tables
import orchestrate.repositories.tables
import orchestrate.schedules.tables
import orchestrate.secrets.tables
import orchestrate.security.advisories.tables
import orchestrate.security.tables
import orchestrate.stories.tables
import orchestrate.triggers.tables  # noqa: F401
from orchestrate.core.db import Base

metadata: MetaData = Base.metadata
