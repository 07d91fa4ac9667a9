"""The Mixpeek Tasks API's enumerations, exactly as they appear on the wire."""

from __future__ import annotations

from enum import Enum


class TaskStatus(str, Enum):
    """All 16 values of Mixpeek's TaskStatusEnum (upper-case on the wire; CANCELED has one L)."""

    PENDING = "PENDING"
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    INTERRUPTED = "INTERRUPTED"
    UNKNOWN = "UNKNOWN"
    SKIPPED = "SKIPPED"
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"
    SUSPENDED = "SUSPENDED"
    DEACTIVATED = "DEACTIVATED"


class TaskType(str, Enum):
    """All 38 values of Mixpeek's TaskType (lower-case snake_case on the wire)."""

    API_NAMESPACES_CREATE = "api_namespaces_create"
    API_NAMESPACES_DELETE = "api_namespaces_delete"
    API_NAMESPACES_SNAPSHOT_CREATE = "api_namespaces_snapshot_create"
    API_NAMESPACES_SNAPSHOT_RESTORE = "api_namespaces_snapshot_restore"
    API_NAMESPACES_MIGRATIONS_RUN = "api_namespaces_migrations_run"
    API_BUCKETS_OBJECTS_CREATE = "api_buckets_objects_create"
    API_BUCKETS_DELETE = "api_buckets_delete"
    API_BUCKETS_BATCHES_PROCESS = "api_buckets_batches_process"
    API_BUCKETS_BATCHES_SUBMIT = "api_buckets_batches_submit"
    API_BUCKETS_UPLOADS_CREATE = "api_buckets_uploads_create"
    API_BUCKETS_UPLOADS_CONFIRM = "api_buckets_uploads_confirm"
    API_BUCKETS_UPLOADS_BATCH_CONFIRM = "api_buckets_uploads_batch_confirm"
    API_COLLECTIONS_DOCUMENTS_CREATE = "api_collections_documents_create"
    API_COLLECTIONS_DOCUMENTS_BULK_UPDATE = "api_collections_documents_bulk_update"
    API_COLLECTIONS_DOCUMENTS_BULK_DELETE = "api_collections_documents_bulk_delete"
    API_COLLECTIONS_REEMBED = "api_collections_reembed"
    API_COLLECTIONS_EXTRACTION_ARTIFACTS = "api_collections_extraction_artifacts"
    API_TAXONOMIES_CREATE = "api_taxonomies_create"
    API_TAXONOMIES_EXECUTE = "api_taxonomies_execute"
    API_TAXONOMIES_MATERIALIZE = "api_taxonomies_materialize"
    API_EVALUATIONS_RUN = "api_evaluations_run"
    API_EVALUATIONS_DATASET_CREATE = "api_evaluations_dataset_create"
    API_RETRIEVERS_PUBLISH = "api_retrievers_publish"
    API_MANIFEST_APPLY = "api_manifest_apply"
    API_RETRIEVERS_EXECUTE = "api_retrievers_execute"
    API_COLLECTIONS_EXPORT = "api_collections_export"
    API_COLLECTIONS_TRIGGER = "api_collections_trigger"
    ENGINE_FEATURE_EXTRACTOR_RUN = "engine_feature_extractor_run"
    ENGINE_INFERENCE_RUN = "engine_inference_run"
    ENGINE_OBJECT_PROCESSING = "engine_object_processing"
    ENGINE_CLUSTER_BUILD = "engine_cluster_build"
    THUMBNAIL = "thumbnail"
    VIDEO_SEGMENT = "video_segment"
    AUDIO_SEGMENT = "audio_segment"
    CONVERTED_VIDEO = "converted_video"
    MATERIALIZE = "materialize"
    PLUGIN_CUSTOM = "plugin_custom"
    MODEL_CUSTOM = "model_custom"


class FilterOperator(str, Enum):
    """All 20 values of Mixpeek's FilterOperator."""

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    LT = "lt"
    GTE = "gte"
    LTE = "lte"
    IN = "in"
    NIN = "nin"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    REGEX = "regex"
    EXISTS = "exists"
    IS_NULL = "is_null"
    TEXT = "text"
    PHRASE = "phrase"
    WORDS = "words"
    GEO_RADIUS = "geo_radius"
    GEO_BOUNDING_BOX = "geo_bounding_box"
    GEO_POLYGON = "geo_polygon"


class SortDirection(str, Enum):
    ASC = "asc"
    DESC = "desc"


LIST_OPERATORS = frozenset({FilterOperator.IN, FilterOperator.NIN})
BOOL_OPERATORS = frozenset({FilterOperator.EXISTS, FilterOperator.IS_NULL})
STRING_OPERATORS = frozenset(
    {
        FilterOperator.CONTAINS,
        FilterOperator.STARTS_WITH,
        FilterOperator.ENDS_WITH,
        FilterOperator.REGEX,
        FilterOperator.TEXT,
        FilterOperator.PHRASE,
        FilterOperator.WORDS,
    }
)
GEO_OPERATORS = frozenset({FilterOperator.GEO_RADIUS, FilterOperator.GEO_BOUNDING_BOX, FilterOperator.GEO_POLYGON})
