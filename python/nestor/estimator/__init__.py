"""`nestor.estimator`: tf.estimator's API on nestor's runtime."""
from __future__ import annotations

from . import inputs  # noqa: F401
from .estimator import Estimator
from .hooks import (CheckpointSaverHook, CheckpointSaverListener, FeedFnHook, FinalOpsHook,  # noqa: F401
                    GlobalStepWaiterHook, LoggingTensorHook, NanLossDuringTrainingError, NanTensorHook,
                    SecondOrStepTimer, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues,
                    StepCounterHook, StopAtStepHook, SummarySaverHook)
from .model_fn import EstimatorSpec, ModeKeys
from .run_config import RunConfig
from .training import EvalSpec, TrainSpec, train_and_evaluate
from .warm_starting import VocabInfo, WarmStartSettings
from .head import (BinaryClassHead, Head, LogisticRegressionHead, MultiClassHead, MultiHead,  # noqa: F401,E402
                   MultiLabelHead, PoissonRegressionHead, RegressionHead)
from . import export_output  # noqa: F401,E402
from .canned import (BaselineClassifier, BaselineEstimator, BaselineRegressor, DNNClassifier,  # noqa: F401,E402
                     DNNEstimator, DNNLinearCombinedClassifier, DNNLinearCombinedEstimator,
                     DNNLinearCombinedRegressor, DNNRegressor, LinearClassifier, LinearEstimator, LinearRegressor)
from . import experimental  # noqa: F401,E402
from . import export  # noqa: F401,E402
from .exporter import BestExporter, Exporter, FinalExporter, LatestExporter  # noqa: F401,E402
from .extenders import add_metrics  # noqa: F401,E402
from .parsing_utils import classifier_parse_example_spec, regressor_parse_example_spec  # noqa: F401,E402
from .profiler_hook import ProfilerHook  # noqa: F401,E402
