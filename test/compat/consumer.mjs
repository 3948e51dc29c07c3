// An ES module consumer: the same app through `import`.
import 'reflect-metadata';
import { Module, Injectable, Controller, Get } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import * as kit from 'nestjs-llm-kit';
import scenario from './scenario.cjs';

await scenario.boot({ Module, Injectable, Controller, Get, NestFactory }, kit, 'esm');
