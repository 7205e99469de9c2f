from gateway.models import Base
from stafett.migrations import run_env

run_env([Base.metadata])
