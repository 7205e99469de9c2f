from services.logs.models import Base
from stafett.events import kernel_metadata
from stafett.migrations import run_env

run_env([Base.metadata, kernel_metadata])
