PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE studies (
	study_id INTEGER NOT NULL, 
	study_name VARCHAR(512) NOT NULL, 
	PRIMARY KEY (study_id)
);
INSERT INTO studies VALUES(1,'old-a');
INSERT INTO studies VALUES(2,'old-b');
CREATE TABLE version_info (
	version_info_id INTEGER NOT NULL, 
	schema_version INTEGER, 
	library_version VARCHAR(256), 
	PRIMARY KEY (version_info_id), 
	CHECK (version_info_id=1)
);
INSERT INTO version_info VALUES(1,12,'5.0.0');
CREATE TABLE study_directions (
	study_direction_id INTEGER NOT NULL, 
	direction VARCHAR(8) NOT NULL, 
	study_id INTEGER NOT NULL, 
	objective INTEGER NOT NULL, 
	PRIMARY KEY (study_direction_id), 
	UNIQUE (study_id, objective), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO study_directions VALUES(1,'MINIMIZE',1,0);
INSERT INTO study_directions VALUES(2,'MINIMIZE',2,0);
CREATE TABLE study_user_attributes (
	study_user_attribute_id INTEGER NOT NULL, 
	study_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (study_user_attribute_id), 
	UNIQUE (study_id, "key"), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO study_user_attributes VALUES(1,1,'adamtune','{"task": "rosenbrock", "n_trials": 3, "epochs": 2, "sampler": "tpe", "pruner": "none", "seed": 1, "space": {"lr": {"low": 1e-05, "high": 0.1, "log": true, "value": null}, "beta1": {"low": 0.5, "high": 0.999, "log": true, "value": null}, "beta2": {"low": 0.9, "high": 0.99999, "log": true, "value": null}, "eps": {"low": 1e-10, "high": 0.01, "log": true, "value": null}, "weight_decay": {"low": null, "high": null, "log": true, "value": 0.0}}}');
INSERT INTO study_user_attributes VALUES(2,2,'adamtune','{"task": "rosenbrock", "n_trials": 2, "epochs": 2, "sampler": "tpe", "pruner": "none", "seed": 2, "space": {"lr": {"low": 1e-05, "high": 0.1, "log": true, "value": null}, "beta1": {"low": 0.5, "high": 0.999, "log": true, "value": null}, "beta2": {"low": 0.9, "high": 0.99999, "log": true, "value": null}, "eps": {"low": 1e-10, "high": 0.01, "log": true, "value": null}, "weight_decay": {"low": null, "high": null, "log": true, "value": 0.0}}}');
CREATE TABLE study_system_attributes (
	study_system_attribute_id INTEGER NOT NULL, 
	study_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (study_system_attribute_id), 
	UNIQUE (study_id, "key"), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE TABLE trials (
	trial_id INTEGER NOT NULL, 
	number INTEGER, 
	study_id INTEGER, 
	state VARCHAR(8) NOT NULL, 
	datetime_start DATETIME, 
	datetime_complete DATETIME, 
	PRIMARY KEY (trial_id), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO trials VALUES(1,0,1,'COMPLETE','2026-11-29 03:41:56.453993','2026-11-29 03:42:00.591062');
INSERT INTO trials VALUES(2,1,1,'COMPLETE','2026-11-29 03:42:00.614075','2026-11-29 03:42:00.787752');
INSERT INTO trials VALUES(3,2,1,'COMPLETE','2026-11-29 03:42:00.806982','2026-11-29 03:42:00.965780');
INSERT INTO trials VALUES(4,0,2,'COMPLETE','2026-11-29 03:42:02.060560','2026-11-29 03:42:02.243426');
INSERT INTO trials VALUES(5,1,2,'COMPLETE','2026-11-29 03:42:02.260426','2026-11-29 03:42:02.419239');
CREATE TABLE trial_user_attributes (
	trial_user_attribute_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (trial_user_attribute_id), 
	UNIQUE (trial_id, "key"), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO trial_user_attributes VALUES(1,1,'baseline','true');
INSERT INTO trial_user_attributes VALUES(2,1,'adam','{"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "weight_decay": 0.0}');
INSERT INTO trial_user_attributes VALUES(3,2,'adam','{"lr": 0.0005545996722241044, "beta1": 0.9988251724506911, "beta2": 0.9984200261046428, "eps": 3.037939641491187e-07, "weight_decay": 0.0}');
INSERT INTO trial_user_attributes VALUES(4,3,'adam','{"lr": 0.0015965834028940295, "beta1": 0.9184789561779733, "beta2": 0.999854246512311, "eps": 1.2207334401601307e-06, "weight_decay": 0.0}');
INSERT INTO trial_user_attributes VALUES(5,4,'baseline','true');
INSERT INTO trial_user_attributes VALUES(6,4,'adam','{"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "weight_decay": 0.0}');
INSERT INTO trial_user_attributes VALUES(7,5,'adam','{"lr": 0.0015965834028940295, "beta1": 0.9184789561779733, "beta2": 0.999854246512311, "eps": 1.2207334401601307e-06, "weight_decay": 0.0}');
CREATE TABLE trial_system_attributes (
	trial_system_attribute_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (trial_system_attribute_id), 
	UNIQUE (trial_id, "key"), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO trial_system_attributes VALUES(1,1,'fixed_params','{"lr": 0.001, "one_minus_beta1": 0.09999999999999998, "one_minus_beta2": 0.0010000000000000009, "eps": 1e-08}');
INSERT INTO trial_system_attributes VALUES(2,4,'fixed_params','{"lr": 0.001, "one_minus_beta1": 0.09999999999999998, "one_minus_beta2": 0.0010000000000000009, "eps": 1e-08}');
CREATE TABLE trial_params (
	param_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	param_name VARCHAR(512), 
	param_value FLOAT, 
	distribution_json TEXT, 
	PRIMARY KEY (param_id), 
	UNIQUE (trial_id, param_name), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO trial_params VALUES(1,1,'lr',0.0010000000000000000208,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}}');
INSERT INTO trial_params VALUES(2,1,'one_minus_beta1',0.099999999999999977795,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0010000000000000009, "high": 0.5, "log": true}}');
INSERT INTO trial_params VALUES(3,1,'one_minus_beta2',0.0010000000000000008881,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 9.99999999995449e-06, "high": 0.09999999999999998, "log": true}}');
INSERT INTO trial_params VALUES(4,1,'eps',1.0000000000000000209e-08,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-10, "high": 0.01, "log": true}}');
INSERT INTO trial_params VALUES(5,2,'lr',0.00055459967222410441831,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}}');
INSERT INTO trial_params VALUES(6,2,'one_minus_beta1',0.0011748275493088341289,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0010000000000000009, "high": 0.5, "log": true}}');
INSERT INTO trial_params VALUES(7,2,'one_minus_beta2',0.0015799738953572561427,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 9.99999999995449e-06, "high": 0.09999999999999998, "log": true}}');
INSERT INTO trial_params VALUES(8,2,'eps',3.0379396414911869668e-07,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-10, "high": 0.01, "log": true}}');
INSERT INTO trial_params VALUES(9,3,'lr',0.0015965834028940294967,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}}');
INSERT INTO trial_params VALUES(10,3,'one_minus_beta1',0.081521043822026739711,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0010000000000000009, "high": 0.5, "log": true}}');
INSERT INTO trial_params VALUES(11,3,'one_minus_beta2',0.00014575348768900364074,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 9.99999999995449e-06, "high": 0.09999999999999998, "log": true}}');
INSERT INTO trial_params VALUES(12,3,'eps',1.2207334401601307161e-06,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-10, "high": 0.01, "log": true}}');
INSERT INTO trial_params VALUES(13,4,'lr',0.0010000000000000000208,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}}');
INSERT INTO trial_params VALUES(14,4,'one_minus_beta1',0.099999999999999977795,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0010000000000000009, "high": 0.5, "log": true}}');
INSERT INTO trial_params VALUES(15,4,'one_minus_beta2',0.0010000000000000008881,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 9.99999999995449e-06, "high": 0.09999999999999998, "log": true}}');
INSERT INTO trial_params VALUES(16,4,'eps',1.0000000000000000209e-08,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-10, "high": 0.01, "log": true}}');
INSERT INTO trial_params VALUES(17,5,'lr',0.0015965834028940294967,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 0.1, "log": true}}');
INSERT INTO trial_params VALUES(18,5,'one_minus_beta1',0.081521043822026739711,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0010000000000000009, "high": 0.5, "log": true}}');
INSERT INTO trial_params VALUES(19,5,'one_minus_beta2',0.00014575348768900364074,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 9.99999999995449e-06, "high": 0.09999999999999998, "log": true}}');
INSERT INTO trial_params VALUES(20,5,'eps',1.2207334401601307161e-06,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-10, "high": 0.01, "log": true}}');
CREATE TABLE trial_values (
	trial_value_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	objective INTEGER NOT NULL, 
	value FLOAT, 
	value_type VARCHAR(7) NOT NULL, 
	PRIMARY KEY (trial_value_id), 
	UNIQUE (trial_id, objective), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO trial_values VALUES(1,1,0,87.977287292480468748,'FINITE');
INSERT INTO trial_values VALUES(2,2,0,116.89785003662109374,'FINITE');
INSERT INTO trial_values VALUES(3,3,0,55.073234558105468748,'FINITE');
INSERT INTO trial_values VALUES(4,4,0,87.976181030273437498,'FINITE');
INSERT INTO trial_values VALUES(5,5,0,55.07175445556640625,'FINITE');
CREATE TABLE trial_intermediate_values (
	trial_intermediate_value_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	step INTEGER NOT NULL, 
	intermediate_value FLOAT, 
	intermediate_value_type VARCHAR(7) NOT NULL, 
	PRIMARY KEY (trial_intermediate_value_id), 
	UNIQUE (trial_id, step), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO trial_intermediate_values VALUES(1,1,1,121.16603088378906249,'FINITE');
INSERT INTO trial_intermediate_values VALUES(2,1,2,87.977287292480468748,'FINITE');
INSERT INTO trial_intermediate_values VALUES(3,2,1,137.316436767578125,'FINITE');
INSERT INTO trial_intermediate_values VALUES(4,2,2,116.89785003662109374,'FINITE');
INSERT INTO trial_intermediate_values VALUES(5,3,1,100.53113555908203125,'FINITE');
INSERT INTO trial_intermediate_values VALUES(6,3,2,55.073234558105468748,'FINITE');
INSERT INTO trial_intermediate_values VALUES(7,4,1,121.1655120849609375,'FINITE');
INSERT INTO trial_intermediate_values VALUES(8,4,2,87.976181030273437498,'FINITE');
INSERT INTO trial_intermediate_values VALUES(9,5,1,100.5304412841796875,'FINITE');
INSERT INTO trial_intermediate_values VALUES(10,5,2,55.07175445556640625,'FINITE');
CREATE TABLE trial_heartbeats (
	trial_heartbeat_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	heartbeat DATETIME NOT NULL, 
	PRIMARY KEY (trial_heartbeat_id), 
	UNIQUE (trial_id), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO trial_heartbeats VALUES(1,1,'2026-11-29 03:41:58.000000');
INSERT INTO trial_heartbeats VALUES(2,2,'2026-11-29 03:42:00');
INSERT INTO trial_heartbeats VALUES(3,3,'2026-11-29 03:42:00');
INSERT INTO trial_heartbeats VALUES(4,4,'2026-11-29 03:42:02');
INSERT INTO trial_heartbeats VALUES(5,5,'2026-11-29 03:42:02');
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version VALUES('v3.2.0.a');
CREATE TABLE adamtune_jobs (
	study_id INTEGER NOT NULL, 
	study_name VARCHAR(512) NOT NULL, 
	task VARCHAR(128) NOT NULL, 
	config JSON NOT NULL, 
	n_trials INTEGER NOT NULL, 
	timeout_s FLOAT, 
	parallelism INTEGER, 
	status VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	last_worker VARCHAR(255), 
	error TEXT, 
	PRIMARY KEY (study_id), 
	UNIQUE (study_name)
);
INSERT INTO adamtune_jobs VALUES(1,'old-a','rosenbrock','{"task": "rosenbrock", "n_trials": 3, "epochs": 2, "sampler": "tpe", "pruner": "none", "seed": 1, "space": {"lr": {"low": 1e-05, "high": 0.1, "log": true, "value": null}, "beta1": {"low": 0.5, "high": 0.999, "log": true, "value": null}, "beta2": {"low": 0.9, "high": 0.99999, "log": true, "value": null}, "eps": {"low": 1e-10, "high": 0.01, "log": true, "value": null}, "weight_decay": {"low": null, "high": null, "log": true, "value": 0.0}}}',3,NULL,NULL,'completed','2026-11-29 03:41:53.230197','2026-11-29 03:41:56.475696','2026-11-29 03:42:00.984785','vm:5185',NULL);
INSERT INTO adamtune_jobs VALUES(2,'old-b','rosenbrock','{"task": "rosenbrock", "n_trials": 2, "epochs": 2, "sampler": "tpe", "pruner": "none", "seed": 2, "space": {"lr": {"low": 1e-05, "high": 0.1, "log": true, "value": null}, "beta1": {"low": 0.5, "high": 0.999, "log": true, "value": null}, "beta2": {"low": 0.9, "high": 0.99999, "log": true, "value": null}, "eps": {"low": 1e-10, "high": 0.01, "log": true, "value": null}, "weight_decay": {"low": null, "high": null, "log": true, "value": 0.0}}}',2,NULL,NULL,'completed','2026-11-29 03:42:01.676202','2026-11-29 03:42:02.067836','2026-11-29 03:42:02.433885','vm:5185',NULL);
CREATE TABLE adamtune_events (
	id INTEGER NOT NULL, 
	study_id INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	trial_number INTEGER, 
	epoch INTEGER, 
	train_loss FLOAT, 
	val_loss FLOAT, 
	val_accuracy FLOAT, 
	elapsed_s FLOAT, 
	state VARCHAR(16), 
	value FLOAT, 
	message TEXT, 
	payload JSON, 
	PRIMARY KEY (id), 
	FOREIGN KEY(study_id) REFERENCES adamtune_jobs (study_id) ON DELETE CASCADE
);
INSERT INTO adamtune_events VALUES(1,1,'study_status',NULL,NULL,NULL,NULL,NULL,NULL,'queued',NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(2,1,'study_status',NULL,NULL,NULL,NULL,NULL,NULL,'running',NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(3,1,'trial_started',0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'{"params": {}}');
INSERT INTO adamtune_events VALUES(4,1,'epoch',0,1,139.819561298076934,121.16603088378906249,NULL,0.068763309000019035011,NULL,NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(5,1,'epoch',0,2,104.39579577323718239,87.977287292480468748,NULL,0.14363576700000635355,NULL,NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(6,1,'trial_finished',0,NULL,NULL,NULL,NULL,NULL,'COMPLETE',87.977287292480468748,NULL,NULL);
INSERT INTO adamtune_events VALUES(7,1,'trial_started',1,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'{"params": {}}');
INSERT INTO adamtune_events VALUES(8,1,'epoch',1,1,148.0098532652243648,137.316436767578125,NULL,0.060738468000010925607,NULL,NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(9,1,'epoch',1,2,127.18573467548077359,116.89785003662109374,NULL,0.12712137600001938153,NULL,NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(10,1,'trial_finished',1,NULL,NULL,NULL,NULL,NULL,'COMPLETE',116.89785003662109374,NULL,NULL);
INSERT INTO adamtune_events VALUES(11,1,'trial_started',2,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'{"params": {}}');
INSERT INTO adamtune_events VALUES(12,1,'epoch',2,1,129.13331330128204398,100.53113555908203125,NULL,0.060194524999985787871,NULL,NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(13,1,'epoch',2,2,76.848438752003204398,55.073234558105468748,NULL,0.12381110699999453572,NULL,NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(14,1,'trial_finished',2,NULL,NULL,NULL,NULL,NULL,'COMPLETE',55.073234558105468748,NULL,NULL);
INSERT INTO adamtune_events VALUES(15,1,'study_status',NULL,NULL,NULL,NULL,NULL,NULL,'completed',NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(16,2,'study_status',NULL,NULL,NULL,NULL,NULL,NULL,'queued',NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(17,2,'study_status',NULL,NULL,NULL,NULL,NULL,NULL,'running',NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(18,2,'trial_started',0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'{"params": {}}');
INSERT INTO adamtune_events VALUES(19,2,'epoch',0,1,139.8194861778846132,121.1655120849609375,NULL,0.063860296000029848073,NULL,NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(20,2,'epoch',0,2,104.39409930889422639,87.976181030273437498,NULL,0.12709179300003370371,NULL,NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(21,2,'trial_finished',0,NULL,NULL,NULL,NULL,NULL,'COMPLETE',87.976181030273437498,NULL,NULL);
INSERT INTO adamtune_events VALUES(22,2,'trial_started',1,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'{"params": {}}');
INSERT INTO adamtune_events VALUES(23,2,'epoch',1,1,129.13272485977563519,100.5304412841796875,NULL,0.062304964000020390813,NULL,NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(24,2,'epoch',1,2,76.846617087339737393,55.07175445556640625,NULL,0.1259631990000116275,NULL,NULL,NULL,NULL);
INSERT INTO adamtune_events VALUES(25,2,'trial_finished',1,NULL,NULL,NULL,NULL,NULL,'COMPLETE',55.07175445556640625,NULL,NULL);
INSERT INTO adamtune_events VALUES(26,2,'study_status',NULL,NULL,NULL,NULL,NULL,NULL,'completed',NULL,NULL,NULL);
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);
CREATE INDEX ix_trials_study_id ON trials (study_id);
CREATE INDEX ix_adamtune_jobs_status ON adamtune_jobs (status);
CREATE INDEX ix_adamtune_events_study_trial ON adamtune_events (study_id, trial_number);
CREATE INDEX ix_adamtune_events_study_kind_id ON adamtune_events (study_id, kind, id);
COMMIT;
